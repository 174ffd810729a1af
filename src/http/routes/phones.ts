import Router, { type RouterContext } from '@koa/router';
import type { Mac } from '../../domain/mac.ts';
import { CREDENTIALED_PATH } from '../../provisioning/profile.ts';
import type { PhoneRequest } from '../../provisioning/service.ts';
import { clientCertificateOf } from '../clientCertificate.ts';
import type { AppDeps } from '../deps.ts';

/** `Authorization: Basic …` as the user name and password the phone sent; null for anything else. */
export function basicCredentials(header: string | undefined): PhoneRequest['credentials'] {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')?.[1];
  if (encoded === undefined) return null;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The MACs a verified client certificate names; null when it proves no phone (no certificate, one that did not
 * verify, or a vendor's generic certificate naming no MAC): the phone then claims like any other.
 */
function certificateMacs(ctx: RouterContext): readonly Mac[] | null {
  const cert = clientCertificateOf(ctx);
  return cert.kind === 'verified' && cert.macs.length > 0 ? cert.macs : null;
}

/**
 * The paths phones ask for: at the server root, one file name each (`/001565aabbcc.cfg`, `/snomD785.htm`, …),
 * where a phone that brings no credentials gets its bootstrap file; and the same names under /prov/, where the
 * bootstrap file sends it and hotprov asks for its credentials. Anything with a directory in it never matches,
 * so `/../etc/passwd` is a plain 404.
 */
export function phoneRouter(deps: AppDeps): Router {
  // Strict: `/console/` (a trailing slash) is not a file name.
  const router = new Router({ strict: true });
  const phoneFile = (scope: PhoneRequest['scope']) => async (ctx: RouterContext) => {
    const filename = ctx.params.filename ?? '';
    if (ctx.method === 'PUT') ctx.req.resume(); // uploads are accepted and dropped, never buffered
    const response = deps.provisioning.handle({
      method: ctx.method,
      filename,
      scope,
      userAgent: ctx.get('user-agent'),
      ip: ctx.ip,
      credentials: basicCredentials(ctx.get('authorization')),
      certificateMacs: certificateMacs(ctx),
      ifNoneMatch: ctx.get('if-none-match'),
    });
    switch (response.status) {
      case 401:
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Basic realm="hotprov", charset="UTF-8"');
        ctx.type = 'text/plain';
        ctx.body = 'credentials required\n';
        return;
      case 403:
        ctx.status = 403;
        ctx.type = 'text/plain';
        ctx.body = 'forbidden\n';
        return;
      case 404:
        ctx.status = 404;
        ctx.type = 'text/plain';
        ctx.body = 'not found\n';
        return;
      case 429:
        ctx.status = 429;
        ctx.set('Retry-After', String(response.retryAfterSeconds));
        ctx.type = 'text/plain';
        ctx.body = 'too many failed requests\n';
        return;
      case 204:
        ctx.status = 204;
        return;
      case 304:
        ctx.set('ETag', response.etag);
        ctx.set('Cache-Control', 'no-cache');
        ctx.status = 304;
        return;
      case 200:
        ctx.set('ETag', response.etag);
        ctx.set('Cache-Control', response.noStore === true ? 'no-store' : 'no-cache');
        ctx.status = 200;
        ctx.type = response.contentType;
        ctx.body = response.bytes();
    }
  };
  router.get('/:filename', phoneFile('open'));
  router.put('/:filename', phoneFile('open'));
  router.get(`${CREDENTIALED_PATH}:filename`, phoneFile('credentialed'));
  router.put(`${CREDENTIALED_PATH}:filename`, phoneFile('credentialed'));
  return router;
}
