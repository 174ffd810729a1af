import { SaxesParser } from 'saxes';

/** Parses a document with a strict XML 1.0 parser; returns the first error (with line:column), or null when well-formed. */
export function xmlError(text: string): string | null {
  const parser = new SaxesParser();
  let error: string | null = null;
  parser.on('error', (err) => {
    error ??= err.message;
  });
  try {
    parser.write(text).close();
  } catch (err) {
    error ??= (err as Error).message;
  }
  return error;
}
