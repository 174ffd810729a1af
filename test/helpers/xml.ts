import { SaxesParser } from 'saxes';

/** Parses a document with a strict XML 1.0 parser; returns the first error, or null when well-formed. */
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

/** Every element name and attribute name in a document, to check them against a vendor's vocabulary. */
export function xmlNames(text: string): { elements: Set<string>; attributes: Set<string> } {
  const parser = new SaxesParser();
  const elements = new Set<string>();
  const attributes = new Set<string>();
  parser.on('opentag', (tag) => {
    elements.add(tag.name);
    for (const name of Object.keys(tag.attributes)) attributes.add(name);
  });
  parser.write(text).close();
  return { elements, attributes };
}
