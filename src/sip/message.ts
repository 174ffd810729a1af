import { randomBytes } from 'node:crypto';

/** A SIP URI's parts hotprov needs to send to it: `sip:user@host:port`. */
export interface SipUri {
  readonly user: string;
  readonly host: string;
  readonly port: number;
}

/** Reads `sip:HD0001@10.1.2.3:5062` (a `<…>` wrapper and `;params` are allowed); null when it is not one. */
export function parseSipUri(text: string): SipUri | null {
  const m = /^<?sips?:(?:([^@;>]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(?:[;>].*)?$/.exec(text.trim());
  if (m === null || m[2] === undefined) return null;
  const port = m[3] === undefined ? 5060 : Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { user: m[1] ?? '', host: m[2].replace(/^\[|\]$/g, ''), port };
}

export function formatSipUri(uri: SipUri): string {
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  return `sip:${uri.user === '' ? '' : `${uri.user}@`}${host}:${uri.port}`;
}

export const randomToken = (bytes = 8) => randomBytes(bytes).toString('hex');

/** RFC 3261 §8.1.1.7: a branch starts with the magic cookie z9hG4bK. */
export const newBranch = () => `z9hG4bK${randomToken(10)}`;

export interface NotifyRequest {
  readonly requestUri: string;
  /** Our own address as the phone should answer it (Via sent-by and Contact). */
  readonly local: { readonly host: string; readonly port: number };
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
 * Via carries rport (RFC 3581) so the answer finds its way back through NAT.
 */
export function buildNotify(r: NotifyRequest): string {
  const localHost = r.local.host.includes(':') ? `[${r.local.host}]` : r.local.host;
  const lines = [
    `NOTIFY ${r.requestUri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${localHost}:${r.local.port};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:hotprov@${localHost}>;tag=${r.fromTag}`,
    `To: <${r.requestUri}>`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} NOTIFY`,
    `Contact: <sip:hotprov@${localHost}:${r.local.port}>`,
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
