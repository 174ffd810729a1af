/** One line of hotprov's log as pino writes it. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly time: string;
  readonly category: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The lines a test's log sink received, each parsed: a line that is not one JSON object fails the test. */
export function logEntries(lines: readonly string[]): LogEntry[] {
  return lines.map((line) => JSON.parse(line) as LogEntry);
}
