import type { RouterContext } from '@koa/router';
import type { Mac } from '../domain/mac.ts';
import type { HeldCopy, PhoneAnswer, PhoneCredentials, PhoneFetch } from '../provisioning/phoneFetch.ts';
import { clientCertificateOf } from './clientCertificate.ts';

/**
 * HTTP for phone files: what a request says in provisioning's terms (credentials, the copy the phone holds,
 * what it wants), and each of provisioning's answers as a status and headers, in one place.
 */

/** `Authorization: Basic …` as the user name and password the phone sent; null for anything else. */
export function basicCredentials(header: string | undefined): PhoneCredentials | null {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')?.[1];
  if (encoded === undefined) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const HOLDS_NOTHING: HeldCopy = { kind: 'none' };
const HOLDS_UNNAMED: HeldCopy = { kind: 'unnamed' };

/**
 * An If-None-Match header as the copy the phone holds: `*` (some copy, unnamed), or the entity tags it lists,
 * compared weakly as RFC 9110 asks for GET (a `W/` prefix does not count).
 */
export function heldCopy(ifNoneMatch: string | undefined): HeldCopy {
  if (ifNoneMatch === undefined || ifNoneMatch === '') return HOLDS_NOTHING;
  if (ifNoneMatch.trim() === '*') return HOLDS_UNNAMED;
  return { kind: 'revisions', etags: ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, '')) };
}

/**
 * The MACs a verified client certificate names; null when it proves no phone (no certificate, one that did not
 * verify, or a vendor's generic certificate naming no MAC): the phone then claims like any other.
 */
function certificateMacs(ctx: RouterContext): readonly Mac[] | null {
  const cert = clientCertificateOf(ctx);
  return cert.kind === 'verified' && cert.macs.length > 0 ? cert.macs : null;
}

/** The request for a phone file, in provisioning's terms. */
export function phoneFetchOf(ctx: RouterContext, scope: PhoneFetch['scope']): PhoneFetch {
  return {
    filename: ctx.params.filename ?? '',
    scope,
    action: ctx.method === 'PUT' ? 'upload' : ctx.method === 'HEAD' ? 'probe' : 'download',
    userAgent: ctx.get('user-agent'),
    ip: ctx.ip,
    credentials: basicCredentials(ctx.get('authorization')),
    certificateMacs: certificateMacs(ctx),
    held: heldCopy(ctx.get('if-none-match')),
  };
}

const plain = (ctx: RouterContext, status: number, text: string) => {
  ctx.status = status;
  ctx.type = 'text/plain';
  ctx.body = text;
};

/** The status each of provisioning's answers is sent with (metrics count fetches by it too). */
export const PHONE_STATUS: Readonly<Record<PhoneAnswer['kind'], number>> = {
  file: 200,
  unchanged: 304,
  upload_accepted: 204,
  needs_credentials: 401,
  wrong_device: 403,
  not_found: 404,
  blocked: 429,
};

/** Provisioning's answer as HTTP: the one place where answer kinds become statuses and headers. */
export function sendPhoneAnswer(ctx: RouterContext, answer: PhoneAnswer): void {
  switch (answer.kind) {
    case 'file':
      ctx.set('ETag', answer.etag);
      // no-cache: a cache on the way asks again each time (and gets its 304); a bootstrap answer is never kept.
      ctx.set('Cache-Control', answer.bootstrap === true ? 'no-store' : 'no-cache');
      ctx.status = PHONE_STATUS.file;
      ctx.type = answer.contentType;
      ctx.body = answer.bytes();
      return;
    case 'unchanged':
      ctx.set('ETag', answer.etag);
      ctx.set('Cache-Control', 'no-cache');
      ctx.status = PHONE_STATUS.unchanged;
      return;
    case 'upload_accepted':
      ctx.status = PHONE_STATUS.upload_accepted;
      return;
    case 'needs_credentials':
      ctx.set('WWW-Authenticate', 'Basic realm="hotprov", charset="UTF-8"');
      plain(ctx, PHONE_STATUS.needs_credentials, 'credentials required\n');
      return;
    case 'wrong_device':
      plain(ctx, PHONE_STATUS.wrong_device, 'forbidden\n');
      return;
    case 'not_found':
      plain(ctx, PHONE_STATUS.not_found, 'not found\n');
      return;
    case 'blocked':
      ctx.set('Retry-After', String(answer.retryAfterSeconds));
      plain(ctx, PHONE_STATUS.blocked, 'too many failed requests\n');
      return;
  }
}
