import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger, prettyLines } from '../src/log.ts';
import { logEntries } from './helpers/logs.ts';

const Log = suite<{ lines: string[] }>('log', { lines: [] });
Log.before.each((ctx) => {
  ctx.lines = [];
});

Log('one JSON object a line: level, time, category, message and the fields given', ({ lines }) => {
  const log = createLogger('info', (l) => lines.push(l));
  log.info('lifecycle', 'hotprov is serving', { listen: '0.0.0.0:8080', skipped: undefined, error: new Error('disk full') });
  log.debug('http', 'GET / 200');
  assert.is(lines.length, 1, 'a debug line is not written at info');
  const [entry] = logEntries(lines);
  assert.is(entry?.level, 'info');
  assert.is(entry?.category, 'lifecycle');
  assert.is(entry?.msg, 'hotprov is serving');
  assert.is(entry?.listen, '0.0.0.0:8080');
  assert.is(entry?.error, 'disk full', 'an Error is logged as its message');
  assert.ok(!('skipped' in (entry ?? {})));
  assert.ok(!Number.isNaN(Date.parse(entry?.time ?? '')));
});

Log('secrets never reach a line: by key at any depth, and by path where the key does not look secret', ({ lines }) => {
  const log = createLogger('debug', (l) => lines.push(l));
  log.warn('security', 'a request', {
    headers: { authorization: 'Basic aHA6czNjcmV0', cookie: 'hotprov_session=abc', 'x-api-key': 'poly-key-1' },
    tenant: { apiKey: 'poly-key-2', users: [{ pin: '4826', sipPassword: 's3cret' }] },
    apiKey: 'poly-key-3',
    adminToken: 'tok-0123456789abcdef',
  });
  const text = lines.join('\n');
  for (const secret of ['aHA6czNjcmV0', 'hotprov_session=abc', 'poly-key-1', 'poly-key-2', 'poly-key-3', '4826', 's3cret', 'tok-0123456789abcdef']) {
    assert.not.ok(text.includes(secret), `${secret} was logged: ${text}`);
  }
  assert.match(text, /"authorization":"\[redacted\]"/);
  assert.match(text, /"x-api-key":"\[redacted\]"/);
});

Log('enabled() answers per level, so a hot path can skip building a line', () => {
  const log = createLogger('warn', () => {});
  assert.equal(
    (['debug', 'info', 'warn', 'error'] as const).map((l) => log.enabled(l)),
    [false, false, true, true],
  );
});

Log('HOTPROV_LOG_FORMAT=pretty: one readable line per event for people', ({ lines }) => {
  const log = createLogger(
    'info',
    prettyLines((l) => lines.push(l)),
  );
  log.warn('provisioning', 'redirect registration failed', { mac: '805ec0112233', message: 'the service did not answer', token: 'abc' });
  assert.is(lines.length, 1);
  assert.match(
    lines[0] ?? '',
    /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}\[provisioning\] redirect registration failed mac=805ec0112233 message="the service did not answer" token=\[redacted\]$/,
  );
});

Log.run();
