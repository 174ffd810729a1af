import { SaxesParser } from 'saxes';

/** What a phone takes from its bootstrap file: where to fetch from now on, with which credentials, and its Activate key. */
export interface PhoneSettings {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly activationUrl: string;
}

/** Every attribute of every element, in document order (Poly's settings are attributes). */
function xmlAttributes(text: string): Map<string, string> {
  const parser = new SaxesParser();
  const out = new Map<string, string>();
  parser.on('opentag', (tag) => {
    for (const [name, value] of Object.entries(tag.attributes)) out.set(name, String(value));
  });
  parser.write(text).close();
  return out;
}

/** Element texts by element name (Snom's settings are elements). */
function xmlTexts(text: string): Map<string, string> {
  const parser = new SaxesParser();
  const out = new Map<string, string>();
  const open: string[] = [];
  parser.on('opentag', (tag) => open.push(tag.name));
  parser.on('text', (t) => {
    const name = open.at(-1);
    if (name !== undefined) out.set(name, (out.get(name) ?? '') + t);
  });
  parser.on('closetag', () => open.pop());
  parser.write(text).close();
  return out;
}

/**
 * Reads a bootstrap file the way the vendor's phone does: Yealink's `key = value` lines, Snom's setting_server URL
 * with the credentials in it, Poly's device.prov.* attributes.
 */
export function readBootstrap(vendor: string, body: string): PhoneSettings {
  if (vendor === 'yealink') {
    const values = new Map<string, string>();
    for (const line of body.split('\n')) {
      const m = /^([^#=\s][^=]*?)\s*=\s*(.*)$/.exec(line);
      if (m?.[1] !== undefined) values.set(m[1], m[2] ?? '');
    }
    return {
      url: values.get('static.auto_provision.server.url') ?? '',
      username: values.get('static.auto_provision.server.username') ?? '',
      password: values.get('static.auto_provision.server.password') ?? '',
      activationUrl: values.get('linekey.1.value') ?? '',
    };
  }
  if (vendor === 'snom') {
    const texts = xmlTexts(body);
    const server = new URL(texts.get('setting_server') ?? '');
    const username = decodeURIComponent(server.username);
    const password = decodeURIComponent(server.password);
    server.username = '';
    server.password = '';
    return { url: server.href, username, password, activationUrl: (texts.get('fkey') ?? '').replace(/^url /, '') };
  }
  const attributes = xmlAttributes(body);
  const scheme = attributes.get('device.prov.serverType') === 'HTTPS' ? 'https' : 'http';
  return {
    url: `${scheme}://${attributes.get('device.prov.serverName') ?? ''}`,
    username: attributes.get('device.prov.user') ?? '',
    password: attributes.get('device.prov.password') ?? '',
    activationUrl: attributes.get('softkey.1.action') ?? '',
  };
}
