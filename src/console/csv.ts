import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { BadRequest } from '../errors.ts';

/** CSV as spreadsheets read and write it (RFC 4180), through csv-parse and csv-stringify. */

/** A cell a spreadsheet would run as a formula (=, +, -, @) is prefixed with ' so an export cannot attack its reader. */
function cell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return stringify(
    [header, ...rows].map((r) => r.map(cell)),
    { record_delimiter: '\r\n' },
  );
}

/** The separators spreadsheets write: comma, semicolon (Excel where the decimal mark is a comma), tab. */
const DELIMITERS = [',', ';', '\t'] as const;

/** The separator of a CSV text: the one its header line uses most, outside quotes. */
export function detectDelimiter(text: string): (typeof DELIMITERS)[number] {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const unquoted = firstLine.replace(/"[^"]*"/g, '');
  let best: (typeof DELIMITERS)[number] = ',';
  let most = 0;
  for (const d of DELIMITERS) {
    const count = unquoted.split(d).length - 1;
    if (count > most) {
      best = d;
      most = count;
    }
  }
  return best;
}

/**
 * Parses CSV text into rows of fields, whichever separator it uses; quoted fields may hold separators, quotes
 * ("") and line breaks; a byte-order mark is dropped; blank lines are skipped.
 * @throws AppError bad_request (400) naming the line when the text is not CSV (an unclosed quote, say).
 */
export function parseCsv(text: string): string[][] {
  let rows: string[][];
  try {
    rows = parse(text, { delimiter: detectDelimiter(text), bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (err) {
    const line = (err as { lines?: unknown }).lines;
    throw BadRequest(`the CSV cannot be read${typeof line === 'number' ? ` (line ${line})` : ''}: check its quotes`);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

/** How the console names a separator to the admin. */
const DELIMITER_NAMES: Record<(typeof DELIMITERS)[number], string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab' };

/**
 * A sheet to import: its rows as parseCsv reads them, with the ' that toCsv put before a formula-like cell taken
 * off again (so an export reads back as it was), and the separator it was read with, in words.
 * @throws AppError bad_request (400) as parseCsv.
 */
export function readSheet(text: string): { rows: string[][]; separator: string } {
  const rows = parseCsv(text).map((r) => r.map((f) => (/^'[=+\-@\t\r]/.test(f) ? f.slice(1) : f)));
  return { rows, separator: DELIMITER_NAMES[detectDelimiter(text)] };
}
