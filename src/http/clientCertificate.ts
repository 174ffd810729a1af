import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Context, Middleware } from 'koa';
import { type Mac, parseMac } from '../domain/mac.ts';

/**
 * What a client proved with its TLS client certificate (HTTPS with HOTPROV_TLS_CLIENT_CA only):
 * - `none`: no certificate (plain HTTP, HTTPS without a client-CA bundle, or the client sent none);
 * - `unverified`: a certificate that does not chain to the bundle, has expired, … (`reason` is OpenSSL's code, e.g.
 *   `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`): it proves nothing, whatever it names;
 * - `verified`: a certificate signed by one of the vendors' device CAs. It proves exactly the MACs in `macs`; an empty
 *   list (e.g. Yealink's generic certificate, shipped in phones without a unique one) proves no particular phone.
 * `subject` and `issuer` are the distinguished names as text (control characters removed), for audit and display.
 */
export type ClientCertificate =
  | { readonly kind: 'none' }
  | { readonly kind: 'unverified'; readonly reason: string; readonly subject: string; readonly issuer: string; readonly fingerprint256: string }
  | { readonly kind: 'verified'; readonly macs: readonly Mac[]; readonly subject: string; readonly issuer: string; readonly fingerprint256: string };

/** The parts of Node's PeerCertificate this module reads; `{}` is what Node answers when the client sent none. */
export interface PeerCertificateFields {
  readonly subject?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly issuer?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly fingerprint256?: string;
}

const NONE: ClientCertificate = Object.freeze({ kind: 'none' });

/**
 * Yealink's unique device certificates carry the MAC as the last group of a UUID-shaped subject serialNumber
 * (`/OU=Yealink Equipment/CN=yealink.com/serialNumber=ffffffff-ffff-ffff-fff0-001565000062`).
 */
const UUID_TAIL_MAC = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{12})$/i;

const values = (v: string | readonly string[] | undefined): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

/**
 * The MACs a certificate subject names, in the forms the vendors document for their factory certificates:
 * - the whole common name is a MAC: Snom (`CN=000413AABBCC`, the form Snom's own nginx example matches), Poly
 *   (`CN=0004F28B54F4, O=Polycom Inc.`), Yealink as some firmware writes it; any spelling parseMac reads
 *   (`0004f2aabbcc`, `00:04:f2:aa:bb:cc`, `00-04-F2-AA-BB-CC`);
 * - a UUID-shaped serialNumber attribute ending in the MAC: Yealink.
 * Nothing else counts: a MAC merely contained in a longer name (`CN=phone-0004f2aabbcc.example`) or in the
 * subjectAltName is not a documented form, and reading it would let one certificate speak for devices it was not
 * issued to.
 */
export function macsNamedBy(subject: PeerCertificateFields['subject']): Mac[] {
  if (subject === undefined) return [];
  const found = new Set<Mac>();
  for (const cn of values(subject.CN)) {
    const mac = parseMac(cn.trim());
    if (mac !== null) found.add(mac);
  }
  for (const serial of values(subject.serialNumber)) {
    const tail = UUID_TAIL_MAC.exec(serial.trim())?.[1];
    const mac = tail === undefined ? null : parseMac(tail);
    if (mac !== null) found.add(mac);
  }
  return [...found];
}

/** `C=DE, O=Snom Technology AG, CN=000413AABBCC`: safe to log (no control characters) and bounded in length. */
export function distinguishedName(name: PeerCertificateFields['subject']): string {
  if (name === undefined) return '';
  const parts: string[] = [];
  for (const [attribute, value] of Object.entries(name)) {
    for (const v of values(value)) parts.push(`${attribute}=${v}`);
  }
  return parts
    .join(', ')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .slice(0, 512);
}

/**
 * What the client proved, from the peer certificate Node hands over and its verification result.
 * @param peer `socket.getPeerCertificate()`: `{}` or null when the client sent no certificate.
 * @param authorized `socket.authorized`: the certificate chains to the client-CA bundle and is within its dates.
 * @param authorizationError `socket.authorizationError`, the reason when not authorized.
 */
export function clientCertificateFrom(
  peer: PeerCertificateFields | null | undefined,
  authorized: boolean,
  authorizationError?: Error | string | null,
): ClientCertificate {
  if (peer === null || peer === undefined || peer.subject === undefined) return NONE;
  const subject = distinguishedName(peer.subject);
  const issuer = distinguishedName(peer.issuer);
  const fingerprint256 = peer.fingerprint256 ?? '';
  if (!authorized) {
    const reason =
      authorizationError === null || authorizationError === undefined
        ? 'unverified'
        : typeof authorizationError === 'string'
          ? authorizationError
          : ((authorizationError as { code?: string }).code ?? authorizationError.message);
    return { kind: 'unverified', reason, subject, issuer, fingerprint256 };
  }
  return { kind: 'verified', macs: macsNamedBy(peer.subject), subject, issuer, fingerprint256 };
}

/** What the client on this connection proved; `none` for a plain-HTTP socket. */
export function clientCertificateOfSocket(socket: Socket | undefined): ClientCertificate {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (tls?.encrypted !== true || typeof tls.getPeerCertificate !== 'function') return NONE;
  return clientCertificateFrom(tls.getPeerCertificate(), tls.authorized === true, tls.authorizationError);
}

/** Sets `ctx.state.clientCert` (a ClientCertificate) for every request; routes read it with clientCertificateOf. */
export function clientCertificateState(): Middleware {
  return function clientCertificate(ctx, next) {
    ctx.state.clientCert = clientCertificateOfSocket(ctx.req.socket);
    return next();
  };
}

/** The request's ClientCertificate (`none` when the middleware did not run). */
export function clientCertificateOf(ctx: Pick<Context, 'state'>): ClientCertificate {
  return (ctx.state.clientCert as ClientCertificate | undefined) ?? NONE;
}
