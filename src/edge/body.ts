import type { Context } from 'koa';
import type { z } from 'zod';
import { validate } from '../domain/inputs.ts';
import { AppError, BadRequest, PayloadTooLarge, UnsupportedMediaType } from '../errors.ts';

/**
 * The one body reader of the API and the console: JSON for the API, HTML forms for the console, both at most
 * BODY_LIMIT bytes and validated against the domain's schemas (domain/inputs.ts).
 */

/** Bodies are small JSON objects or forms (a template or a CSV at most); anything larger is a mistake or an attack. */
const BODY_LIMIT = 256 * 1024;

/**
 * Reads the request body as JSON.
 * @throws AppError unsupported_media_type (415), payload_too_large (413), bad_request (400) for malformed JSON.
 */
export async function readJson(ctx: Context): Promise<unknown> {
  const length = Number(ctx.get('content-length') || '0');
  if (length === 0 && ctx.get('transfer-encoding') === '') return {};
  if (!ctx.is('application/json')) {
    await drain(ctx);
    throw UnsupportedMediaType();
  }
  const text = (await readLimited(ctx, BODY_LIMIT)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (err) {
    throw BadRequest(`the body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Reads the request body as an HTML form (`application/x-www-form-urlencoded`, whatever the header says: a
 * browser sends nothing else to the console).
 * @throws AppError payload_too_large (413).
 */
export async function readForm(ctx: Context): Promise<URLSearchParams> {
  return new URLSearchParams((await readLimited(ctx, BODY_LIMIT)).toString('utf8'));
}

/** Beyond this much a refused body is not read to its end; the connection is closed instead. */
const DRAIN_LIMIT = 8 * 1024 * 1024;

/**
 * Reads a request body of at most `limit` bytes.
 * A larger body is read to its end (up to DRAIN_LIMIT) and dropped before the 413, so the client gets the answer
 * rather than a connection reset; the connection is then closed, never reused.
 * @throws AppError payload_too_large (413).
 */
async function readLimited(ctx: Context, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size <= limit) chunks.push(chunk as Buffer);
    else if (size > DRAIN_LIMIT) break;
  }
  if (size > limit) {
    ctx.set('Connection', 'close');
    throw PayloadTooLarge(limit);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body that will be refused, so the answer reaches the client. */
async function drain(ctx: Context): Promise<void> {
  await readLimited(ctx, DRAIN_LIMIT).catch(() => undefined);
}

/** Reads and validates a JSON body in one step. */
export async function readBody<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.infer<S>> {
  return validate(schema, await readJson(ctx));
}

/**
 * Reads and validates the body of a PATCH: a change must name at least one field.
 * @throws AppError nothing_to_change (400) for `{}` or no body, as readBody otherwise.
 */
export async function readChanges<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.infer<S>> {
  const body = await readJson(ctx);
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) {
    throw new AppError(400, 'nothing_to_change', 'the body names no field to change; send at least one');
  }
  return validate(schema, body);
}
