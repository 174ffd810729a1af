import { readFileSync } from 'node:fs';
import Router from '@koa/router';
import { z } from 'zod';
import { apiSchemas, ErrorAnswer } from '../edge/views.ts';
import { PATHS } from '../paths.ts';
import type { ApiOperation } from './apiRoutes.ts';

/**
 * The OpenAPI 3.1 document of /api/v1, made from the route table (apiRoutes.ts): the request schemas the routes
 * validate with and the answer schemas their presenters are typed by, as JSON Schema 2020-12 (zod's own
 * conversion). Served without a token at GET /api/v1/openapi.json: it holds no secret and no tenant's data.
 */

export const OPENAPI_PATH = '/api/v1/openapi.json';

type JsonObject = Record<string, unknown>;

/** The document describes itself too: the one route that needs no token. */
const DOCUMENT_OPERATION: ApiOperation = {
  id: 'openApiDocument',
  operationId: 'openApiDocument',
  method: 'get',
  path: OPENAPI_PATH,
  access: 'public',
  summary: 'This document',
  responses: { 200: z.looseObject({ openapi: z.literal('3.1.0') }) },
};

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The request is malformed or a field is invalid (code bad_request, invalid_field, nothing_to_change, weak_pin, secret_required)',
  401: 'No valid bearer token (code unauthorized)',
  403: 'The token may not do this (code forbidden), or a PIN was refused (wrong_pin, user_not_hotdesk)',
  404: 'The tenant, or the thing the path names, does not exist (code unknown_tenant, not_found, unknown_device, unknown_extension)',
  409: 'Conflicts with the current state (code conflict, quota_exceeded, slug_taken, tenant_in_use, pin_not_set, …)',
  413: 'The body is too large (code payload_too_large)',
  415: 'The body is not application/json (code unsupported_media_type)',
  422: 'Understood, but it would break phones (code template_refused)',
  423: 'Locked after repeated wrong PINs (code locked)',
  429: 'Too many PIN checks under way (code too_many_attempts)',
  502: 'A vendor service refused or did not answer',
  503: 'The database cannot be written or is busy (code storage_unavailable, busy); nothing was changed',
};

const SUCCESS_DESCRIPTIONS: Readonly<Record<number, string>> = { 200: 'OK', 201: 'Created', 202: 'Accepted: sent on its way', 204: 'Done; no body' };

/** What any route of its kind can answer besides its own errors: the token, the role, the path, the body. */
export function errorStatuses(op: ApiOperation): number[] {
  const statuses = new Set(op.errors ?? []);
  if (op.access !== 'public') statuses.add(401);
  if (op.access === 'admin' || op.access === 'provider') statuses.add(403);
  if (op.path.includes('/:')) statuses.add(404);
  if (op.body !== undefined || op.query !== undefined) statuses.add(400);
  if (op.body !== undefined) for (const s of [413, 415]) statuses.add(s);
  if (op.method !== 'get') statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

/** `/users/:extension` as OpenAPI writes it: `/users/{extension}`. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/** The part of /api/v1 a route belongs to, for the document's tags: `users`, `devices`, `tenants`, … */
function tagOf(path: string): string {
  const below = path.replace(/^\/api\/v1\/tenants\/:tenant\//, '/api/v1/').replace(/^\/api\/v1\/?/, '');
  return below.split('/')[0] || 'api';
}

/** Builds the document; schemas with an id (edge/views.ts) become components, referenced wherever they occur. */
export function openApiDocument(routes: readonly ApiOperation[], version: string): JsonObject {
  const components: Record<string, unknown> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonObject => {
    const converted = z.toJSONSchema(schema, { target: 'draft-2020-12', io, metadata: apiSchemas, unrepresentable: 'any' }) as JsonObject;
    const { $schema: _dialect, $defs, ...rest } = converted;
    for (const [id, definition] of Object.entries(($defs ?? {}) as JsonObject)) components[id] = toComponentRefs(definition);
    return toComponentRefs(rest) as JsonObject;
  };
  /** A request body's schema as a component of its route's name (`CreateUserRequest`), shared by both mounts. */
  const named = (name: string, schema: z.ZodType) => {
    components[name] = convert(schema, 'input');
    return { $ref: `#/components/schemas/${name}` };
  };
  const errorContent = { 'application/json': { schema: convert(ErrorAnswer, 'output') } };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of [DOCUMENT_OPERATION, ...routes]) {
    const parameters: unknown[] = [...op.path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    if (op.query !== undefined) {
      const query = convert(op.query, 'input');
      for (const [name, schema] of Object.entries((query.properties ?? {}) as JsonObject)) {
        // Every query parameter may be left out: each has a default.
        const { description, ...rest } = schema as JsonObject;
        parameters.push({ name, in: 'query', required: false, schema: rest, ...(description === undefined ? {} : { description }) });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(op.responses)) {
      const content = schema === null || schema === undefined ? undefined : { 'application/json': { schema: convert(schema, 'output') } };
      if (content !== undefined && status === '200') {
        for (const [type, description] of Object.entries(op.otherContent ?? {}))
          Object.assign(content, { [type]: { schema: { type: 'string', description } } });
      }
      responses[status] = { description: SUCCESS_DESCRIPTIONS[Number(status)] ?? 'OK', ...(content === undefined ? {} : { content }) };
    }
    for (const status of errorStatuses(op)) responses[String(status)] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: errorContent };

    const path = openApiPath(op.path);
    paths[path] = {
      ...paths[path],
      [op.method]: {
        operationId: op.operationId,
        summary: op.summary,
        ...(op.description === undefined ? {} : { description: op.description }),
        tags: [tagOf(op.path)],
        // Who may call it: helpdesk (every token), admin (admins and the provider), provider (the provider only).
        'x-hotprov-role': op.access,
        ...(op.access === 'public' ? { security: [] } : {}),
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(op.body === undefined
          ? {}
          : { requestBody: { required: true, content: { 'application/json': { schema: named(`${capitalised(op.id)}Request`, op.body) } } } }),
        responses,
      },
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'hotprov API',
      version,
      description:
        'Hot-desking provisioning: users, devices, desks, tenants. Every route takes `Authorization: Bearer <token>`; ' +
        'the routes that act in a tenant are at /api/v1/… (the token’s own tenant; the provider’s default tenant) and at ' +
        '/api/v1/tenants/{tenant}/…. `x-hotprov-role` names who may call each.',
    },
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: components },
  };
}

const capitalised = (word: string) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`;

/** zod names a schema's definitions `#/$defs/Id`; in the document they are components. */
function toComponentRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/'));
}

/** hotprov's version, the document's: package.json's. */
export const hotprovVersion = (): string => (JSON.parse(readFileSync(PATHS.packageJson, 'utf8')) as { version: string }).version;

/** GET /api/v1/openapi.json, without a token; the document is made once. */
export function openApiRouter(routes: readonly ApiOperation[]): Router {
  const body = JSON.stringify(openApiDocument(routes, hotprovVersion()));
  const router = new Router();
  router.get(OPENAPI_PATH, (ctx) => {
    ctx.type = 'application/json';
    ctx.body = body;
  });
  return router;
}
