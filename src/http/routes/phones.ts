import Router, { type RouterContext } from '@koa/router';
import type { PhoneFetch } from '../../provisioning/phoneFetch.ts';
import { CREDENTIALED_PATH } from '../../provisioning/profile.ts';
import type { AppDeps } from '../deps.ts';
import { phoneFetchOf, sendPhoneAnswer } from '../phoneFetch.ts';

/**
 * The paths phones ask for: at the server root, one file name each (`/001565aabbcc.cfg`, `/snomD785.htm`, …),
 * where a phone that brings no credentials gets its bootstrap file; and the same names under /prov/, where the
 * bootstrap file sends it and hotprov asks for its credentials. Anything with a directory in it never matches,
 * so `/../etc/passwd` is a plain 404.
 */
export function phoneRouter(deps: AppDeps): Router {
  // Strict: `/console/` (a trailing slash) is not a file name.
  const router = new Router({ strict: true });
  const phoneFile = (scope: PhoneFetch['scope']) => async (ctx: RouterContext) => {
    if (ctx.method === 'PUT') ctx.req.resume(); // uploads are accepted and dropped, never buffered
    sendPhoneAnswer(ctx, await deps.provisioning.answer(phoneFetchOf(ctx, scope)));
  };
  router.get('/:filename', phoneFile('open'));
  router.put('/:filename', phoneFile('open'));
  router.get(`${CREDENTIALED_PATH}:filename`, phoneFile('credentialed'));
  router.put(`${CREDENTIALED_PATH}:filename`, phoneFile('credentialed'));
  return router;
}
