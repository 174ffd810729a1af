import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { detectDelimiter, parseCsv, toCsv } from '../../src/console/csv.ts';
import { assertAppError } from '../helpers/assertions.ts';

/** CSV as the spreadsheets admins use write it: Excel in Europe writes semicolons and a byte-order mark. */
const Csv = suite('console/csv');

Csv('comma, semicolon and tab files read the same', () => {
  const rows = [
    ['mac', 'vendor', 'model', 'label'],
    ['805ec0112233', 'yealink', 'T54W', 'Desk 1'],
  ];
  assert.equal(parseCsv('mac,vendor,model,label\r\n805ec0112233,yealink,T54W,Desk 1\r\n'), rows);
  assert.equal(parseCsv('\uFEFFmac;vendor;model;label\r\n805ec0112233;yealink;T54W;Desk 1\r\n'), rows, 'European Excel');
  assert.equal(parseCsv('mac\tvendor\tmodel\tlabel\n805ec0112233\tyealink\tT54W\tDesk 1\n'), rows);
});

Csv('a separator inside quotes is text, and so are quotes and line breaks', () => {
  assert.is(detectDelimiter('"a;b;c",x\n'), ',');
  assert.equal(parseCsv('label;location\n"Desk, window";"Floor 2\nnorth ""B"""\n'), [
    ['label', 'location'],
    ['Desk, window', 'Floor 2\nnorth "B"'],
  ]);
});

Csv('blank lines are skipped; a file that is not CSV is a 400 naming the line', async () => {
  assert.equal(parseCsv('a,b\n\n1,2\n , \n'), [
    ['a', 'b'],
    ['1', '2'],
  ]);
  await assertAppError(() => parseCsv('a,b\n"unclosed,2\n'), { status: 400, code: 'bad_request', message: /line/ });
});

Csv('an export reads back as what it wrote, and a formula cell cannot run in a spreadsheet', () => {
  const text = toCsv(
    ['label', 'note'],
    [
      ['Desk "1", window', '=HYPERLINK("x")'],
      ['plain', null],
    ],
  );
  assert.ok(text.endsWith('\r\n'));
  assert.equal(parseCsv(text), [
    ['label', 'note'],
    ['Desk "1", window', '\'=HYPERLINK("x")'],
    ['plain', ''],
  ]);
});

Csv.run();
