import Router, { type RouterContext } from '@koa/router';
import type { AppDeps } from '../deps.ts';

/**
 * The paths phones ask for, at the server root, one file name each (`/001565aabbcc.cfg`, `/snomD785.htm`, …).
 * Anything with a directory in it never matches, so `/../etc/passwd` is a plain 404.
 */
export function phoneRouter(deps: AppDeps): Router {
  // Strict: `/console/` (a trailing slash) is not a file name.
  const router = new Router({ strict: true });
  async function phoneFile(ctx: RouterContext) {
    const filename = ctx.params.filename ?? '';
    if (ctx.method === 'PUT') ctx.req.resume(); // uploads are accepted and dropped, never buffered
    const response = deps.provisioning.handle({
      method: ctx.method,
      filename,
      userAgent: ctx.get('user-agent'),
      ip: ctx.ip,
      authorization: ctx.get('authorization'),
      ifNoneMatch: ctx.get('if-none-match'),
    });
    if (response.status === 401) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="hotprov"');
      ctx.type = 'text/plain';
      ctx.body = 'credentials required\n';
      return;
    }
    if (response.status === 404) {
      ctx.status = 404;
      ctx.type = 'text/plain';
      ctx.body = 'not found\n';
      return;
    }
    if (response.status === 204) {
      ctx.status = 204;
      return;
    }
    ctx.set('ETag', response.etag);
    ctx.set('Cache-Control', 'no-cache');
    if (response.status === 304) {
      ctx.status = 304;
      return;
    }
    ctx.status = 200;
    ctx.type = response.contentType;
    ctx.body = response.bytes();
  }
  router.get('/:filename', phoneFile);
  router.put('/:filename', phoneFile);
  return router;
}
