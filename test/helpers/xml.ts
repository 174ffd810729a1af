import { SaxesParser } from 'saxes';

export { xmlError } from '../../src/provisioning/xml.ts';

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
