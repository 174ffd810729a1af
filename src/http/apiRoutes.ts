import type Router from '@koa/router';
import type { RouterContext } from '@koa/router';
import type { z } from 'zod';
import { validate } from '../domain/inputs.ts';
import { readBody, readChanges } from '../edge/body.ts';
import { type Access, allow } from './tenancy.ts';

/**
 * The API's route table: each route is registered with who may call it, the schemas of its request and of its
 * answers, so the OpenAPI document (openapi.ts) is made from what the routes really validate and answer and
 * cannot miss one.
 */

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete';

/** What a route declares besides its handler. */
export interface RouteSpec<Body extends z.ZodType | undefined = z.ZodType | undefined, Query extends z.ZodType | undefined = z.ZodType | undefined> {
  /** Names the route in the document: its operationId (suffixed on its second mount) and its request body's schema. */
  readonly id: string;
  readonly access: Access;
  readonly summary: string;
  readonly description?: string;
  /** The JSON body, validated before the handler runs (a PATCH must name at least one field). */
  readonly body?: Body;
  /** The query string, validated before the handler runs. */
  readonly query?: Query;
  /** Success answers by status: the schema of their JSON, or null for no body (204). */
  readonly responses: Readonly<Partial<Record<200 | 201 | 202 | 204, z.ZodType | null>>>;
  /** Media types the 200 answer can have besides JSON (a CSV, a phone's file), with what selects them. */
  readonly otherContent?: Readonly<Record<string, string>>;
  /** Error statuses of this route beyond those every route can answer (see openapi.ts `errorStatuses`). */
  readonly errors?: readonly number[];
}

/** A route as registered: its spec, method and whole path (`/api/v1/tenants/:tenant/users/:extension`). */
export interface ApiOperation extends Omit<RouteSpec, 'access'> {
  /** `id`, with the mount's suffix: unique in the document. */
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly path: string;
  /** `public`: no token needed (the document itself). */
  readonly access: Access | 'public';
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;
export interface RouteInput<Body, Query> {
  readonly body: Parsed<Body>;
  readonly query: Parsed<Query>;
}
type Handler<Body, Query> = (ctx: RouterContext, input: RouteInput<Body, Query>) => unknown;

/**
 * Registers routes on a router, each with its spec (no route without who may call it), and records each in
 * `operations`. `idSuffix` tells apart the operations of a router mounted twice.
 */
export function guarded(router: Router, operations: ApiOperation[], idSuffix = '') {
  const prefix = router.opts.prefix ?? '';
  const on =
    (method: HttpMethod) =>
    <Body extends z.ZodType | undefined = undefined, Query extends z.ZodType | undefined = undefined>(
      path: string,
      spec: RouteSpec<Body, Query>,
      handler: Handler<Body, Query>,
    ): void => {
      // As the router joins them: `/` below a prefix is the prefix itself.
      operations.push({ ...spec, operationId: `${spec.id}${idSuffix}`, method, path: path === '/' && prefix !== '' ? prefix : `${prefix}${path}` });
      router[method](path, allow(spec.access), async (ctx) => {
        const body = spec.body === undefined ? undefined : method === 'patch' ? await readChanges(ctx, spec.body) : await readBody(ctx, spec.body);
        const query = spec.query === undefined ? undefined : validate(spec.query, ctx.query);
        await handler(ctx, { body, query } as RouteInput<Body, Query>);
      });
    };
  return { get: on('get'), post: on('post'), patch: on('patch'), delete: on('delete') };
}
