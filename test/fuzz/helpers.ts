import fc from 'fast-check';
import type { TestServer } from '../helpers/server.ts';

/** Every table's rows, in order: what a refused request must leave exactly as it was. */
export function dumpDatabase(t: TestServer, skip: readonly string[] = []): string {
  const { sqlite } = t.hotprov.database;
  const tables = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[])
    .map((r) => r.name)
    // sqlite_sequence follows the tables skipped (their autoincrement counters).
    .filter((n) => !skip.includes(n) && !(skip.length > 0 && n === 'sqlite_sequence'));
  return JSON.stringify(tables.map((name) => [name, sqlite.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all()]));
}

/** A stack trace or a source path in an answer: what no client may ever see. */
export const STACK = /\n\s+at [^\n]*:\d+:\d+|node_modules|\/src\/[\w/]+\.ts|\bat (async )?\w+ \(/;

/** Text a person or a broken client could send: odd unicode, control characters, huge, and the usual suspects. */
export const oddText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\n',
    '\r\n',
    '%',
    '%00',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
    '${7*7}',
    '{{this}}',
    "' OR 1=1 --",
    '\uFEFF',
    '\uD800',
    '💥',
    'NaN',
    '-1',
    '1e309',
    '0x10',
  ),
  fc.nat({ max: 300_000 }).map((n) => 'x'.repeat(n)),
);

/** A JSON value nested deeper than any schema expects. */
export const deepJson = fc.nat({ max: 5000 }).map((depth) => `${'['.repeat(depth)}1${']'.repeat(depth)}`);

/** Any JSON value, including the wrong types for every field. */
export const anyJson = fc.oneof(fc.jsonValue(), fc.constantFrom(null, true, 0, -1, 1.5, 1e308, '', [], {}));

/** An object whose keys are mostly the route's own fields, with values of any type. */
export const bodyFor = (fields: readonly string[]) =>
  fc.dictionary(fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 12 })), fc.oneof(anyJson, oddText), { maxKeys: 8 });

/** A request body as bytes on the wire: valid JSON of odd shape, malformed JSON, deep, huge or empty. */
export const rawBody = (fields: readonly string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: bodyFor(fields).map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: oddText },
    { weight: 1, arbitrary: deepJson },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', '{"a":1,}', '[1,2', 'null', '"str"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}') },
  );

/** The content type a client claims, right or wrong. */
export const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data', '') },
);

/** A path segment as a client could send it, percent-encoded so it stays one segment. */
export const segment = (known: readonly string[]) =>
  fc.oneof(
    fc.constantFrom(...known),
    oddText.map((s) => encodeURIComponent(s.slice(0, 200).toWellFormed()) || '%20'),
  );

/** Runs properties with a fixed number of runs per route, and says which input broke one. */
export const RUNS = Number(process.env.HOTPROV_FUZZ_RUNS ?? 40);
