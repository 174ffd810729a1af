import { randomBytes } from 'node:crypto';
import { SIP_TRANSPORTS, type SipTransport } from '../config.ts';

/** How a SIP request travels: as the contact says (`;transport=tcp|tls`, `sips:`), else UDP. */
export type { SipTransport };

/** A SIP URI's parts hotprov needs to send to it: `sip:user@host:port;transport=…`. */
export interface SipUri {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** `sips` asks for TLS on every hop (RFC 3261 §19.1). */
  readonly scheme?: 'sip' | 'sips';
  readonly transport?: SipTransport;
}

/**
 * Reads `sip:HD0001@10.1.2.3:5062`, `sip:HD0001@[2001:db8::5]:5062;transport=tcp` or `sips:HD0001@host` (a `<…>`
 * wrapper is allowed; only the URI's own parameters count, not those after `>`); null when it is not one. The
 * port defaults to 5061 over TLS and 5060 otherwise (RFC 3263 §4.2).
 */
export function parseSipUri(text: string): SipUri | null {
  const m = /^<?(sips?):(?:([^@;>]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?((?:;[^>]*)?)(?:>.*)?$/.exec(text.trim());
  if (m === null || m[3] === undefined) return null;
  const scheme = m[1]?.toLowerCase() === 'sips' ? 'sips' : 'sip';
  const param = /;\s*transport=(\w+)/i.exec(m[5] ?? '')?.[1]?.toLowerCase();
  if (param !== undefined && !(SIP_TRANSPORTS as readonly string[]).includes(param)) return null; // SCTP, WS: not for hotprov
  const transport: SipTransport = scheme === 'sips' ? 'tls' : ((param as SipTransport | undefined) ?? 'udp');
  const port = m[4] === undefined ? (transport === 'tls' ? 5061 : 5060) : Number(m[4]);
  if (port < 1 || port > 65535) return null;
  return { user: m[2] ?? '', host: m[3].replace(/^\[|\]$/g, ''), port, scheme, transport };
}

/** `host` as it goes into a URI or Via: IPv6 addresses in brackets. */
export const uriHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

export function formatSipUri(uri: SipUri): string {
  const scheme = uri.scheme ?? 'sip';
  const transport = uri.transport ?? 'udp';
  // sips implies TLS; a plain sip URI names any other transport than UDP.
  const param = scheme === 'sip' && transport !== 'udp' ? `;transport=${transport}` : '';
  return `${scheme}:${uri.user === '' ? '' : `${uri.user}@`}${uriHost(uri.host)}:${uri.port}${param}`;
}

export const randomToken = (bytes = 8) => randomBytes(bytes).toString('hex');

/** RFC 3261 §8.1.1.7: a branch starts with the magic cookie z9hG4bK. */
export const newBranch = () => `z9hG4bK${randomToken(10)}`;

export interface NotifyRequest {
  readonly requestUri: string;
  /** Our own address as the phone should answer it (Via sent-by and Contact). */
  readonly local: { readonly host: string; readonly port: number };
  /** The transport the request goes over, named in Via and Contact. */
  readonly transport?: SipTransport;
  readonly branch: string;
  readonly fromTag: string;
  readonly callId: string;
  readonly cseq: number;
  readonly event: string;
  /** `Authorization: …` or `Proxy-Authorization: …` when answering a challenge. */
  readonly authorization?: string;
}

/**
 * An out-of-dialog NOTIFY (RFC 3265 §3.2 with Subscription-State: terminated, as phones expect for check-sync).
 * Over UDP, Via carries rport (RFC 3581) so the answer finds its way back through NAT; over TCP and TLS the answer
 * comes back on the connection. A `sips:` Request-URI gets a `sips:` Contact (RFC 3261 §8.1.1.8).
 */
export function buildNotify(r: NotifyRequest): string {
  const localHost = uriHost(r.local.host);
  const transport = r.transport ?? 'udp';
  const contact = formatSipUri({
    user: 'hotprov',
    host: r.local.host,
    port: r.local.port,
    scheme: r.requestUri.toLowerCase().startsWith('sips:') ? 'sips' : 'sip',
    transport,
  });
  const lines = [
    `NOTIFY ${r.requestUri} SIP/2.0`,
    `Via: SIP/2.0/${transport.toUpperCase()} ${localHost}:${r.local.port};branch=${r.branch}${transport === 'udp' ? ';rport' : ''}`,
    'Max-Forwards: 70',
    `From: <sip:hotprov@${localHost}>;tag=${r.fromTag}`,
    `To: <${r.requestUri}>`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} NOTIFY`,
    `Contact: <${contact}>`,
    `Event: ${r.event}`,
    'Subscription-State: terminated',
    ...(r.authorization === undefined ? [] : [r.authorization]),
    'User-Agent: hotprov',
    'Content-Length: 0',
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export interface SipResponse {
  readonly status: number;
  readonly reason: string;
  /** Header values by lower-case name; repeated headers keep every value. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
}

const COMPACT: Readonly<Record<string, string>> = { v: 'via', i: 'call-id', f: 'from', t: 'to', m: 'contact', l: 'content-length', o: 'event' };

/** Parses a SIP response; null for anything else (requests, garbage). */
export function parseResponse(text: string): SipResponse | null {
  const [head = ''] = text.split(/\r?\n\r?\n/, 1);
  const lines = head.split(/\r?\n/);
  const status = /^SIP\/2\.0\s+(\d{3})\s*(.*)$/.exec(lines[0] ?? '');
  if (status?.[1] === undefined) return null;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const raw = line.slice(0, i).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
  }
  return { status: Number(status[1]), reason: status[2] ?? '', headers };
}

/** The branch parameter of a response's top Via, which names the client transaction it answers. */
export function topViaBranch(response: SipResponse): string | null {
  const via = response.headers.get('via')?.[0];
  return via === undefined ? null : (/;\s*branch=([^;,\s]+)/i.exec(via)?.[1] ?? null);
}

/**
 * Cuts SIP messages out of a TCP or TLS byte stream (RFC 3261 §18.3): the headers end at a blank line and
 * Content-Length says how many bytes of body follow. CRLF keep-alives between messages (RFC 5626 §4.4.1) are
 * skipped.
 */
export class SipStreamReader {
  private buffer = Buffer.alloc(0);

  /** Adds bytes read from the connection and returns every message now complete. */
  push(chunk: Buffer): string[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const messages: string[] = [];
    for (;;) {
      let start = 0;
      while (this.buffer[start] === 0x0d || this.buffer[start] === 0x0a) start++;
      if (start > 0) this.buffer = this.buffer.subarray(start);
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return messages;
      const head = this.buffer.subarray(0, end).toString('utf8');
      const length = Number(/^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head)?.[1] ?? 0);
      const total = end + 4 + length;
      if (this.buffer.length < total) return messages;
      messages.push(this.buffer.subarray(0, total).toString('utf8'));
      this.buffer = this.buffer.subarray(total);
    }
  }
}
