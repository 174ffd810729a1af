/**
 * The one error catalogue. Every failure a caller can act on is an AppError with an HTTP status and a
 * stable code; the HTTP layer renders it as { error: { code, message } }. Anything else is a 500 whose
 * message never reaches the client.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(status: number, code: string, message: string, details?: Readonly<Record<string, unknown>>) {
    super(message);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// 400: the request itself is wrong.
export const BadRequest = (message: string, details?: Record<string, unknown>) => new AppError(400, 'bad_request', message, details);
export const InvalidField = (field: string, problem: string) => new AppError(400, 'invalid_field', `${field}: ${problem}`, { field });
export const WeakPin = (reason: string) => new AppError(400, 'weak_pin', `pin: ${reason}`, { field: 'pin' });

// 401 / 403: who is asking, and may they.
export const Unauthorized = (message = 'a valid bearer token is required') => new AppError(401, 'unauthorized', message);
export const WrongPin = (triesLeft: number, lockedUntil: Date | null) =>
  new AppError(
    403,
    'wrong_pin',
    lockedUntil === null
      ? `the PIN does not match; ${triesLeft} more ${triesLeft === 1 ? 'try' : 'tries'} before a lockout`
      : `the PIN does not match; locked until ${lockedUntil.toISOString()}`,
    { triesLeft, ...(lockedUntil === null ? {} : { lockedUntil: lockedUntil.toISOString() }) },
  );
export const UserNotHotdesk = (extension: string) => new AppError(403, 'user_not_hotdesk', `user ${extension} is not allowed to hot-desk`);

// 404: the thing named does not exist.
export const NotFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);
export const UnknownDevice = (ref: string) => new AppError(404, 'unknown_device', `no device ${ref}`);
export const UnknownExtension = (extension: string) => new AppError(404, 'unknown_extension', `no user with extension ${extension}`);

// 409: the request conflicts with the current state.
export const Conflict = (message: string) => new AppError(409, 'conflict', message);
/**
 * A MAC enrolled already: the same words whichever tenant holds it, so a tenant learns nothing of another's phones.
 */
export const MacEnrolled = (mac: string) => new AppError(409, 'conflict', `MAC ${mac} is already enrolled`, { field: 'mac' });
export const DeviceNotHotdesk = (device: string) => new AppError(409, 'device_not_hotdesk', `device ${device} is not a hot-desk device`);
export const PinNotSet = (extension: string) => new AppError(409, 'pin_not_set', `user ${extension} has no hot-desk PIN; set one first`);
export const PinChanged = (extension: string) => new AppError(409, 'conflict', `the PIN of user ${extension} changed meanwhile; try again`);

// 423 / 429: wrong PINs locked the user or the phone, or every try left is being checked right now.
export const Locked = (what: string, until: Date) =>
  new AppError(423, 'locked', `${what} is locked after repeated wrong PINs until ${until.toISOString()}`, {
    lockedUntil: until.toISOString(),
  });
export const TooManyAttempts = (what: string) =>
  new AppError(429, 'too_many_attempts', `${what} has as many PIN checks under way as it has tries left; try again in a moment`);

// 422: understood, but it would break phones.
export const TemplateRefused = (problem: string) => new AppError(422, 'template_refused', `the template ${problem}`);

// 413 / 415: the body is not something hotprov accepts.
export const PayloadTooLarge = (limit: number) => new AppError(413, 'payload_too_large', `the request body exceeds ${limit} bytes`);
export const UnsupportedMediaType = () => new AppError(415, 'unsupported_media_type', 'send the request body as application/json');

// 503: hotprov cannot do it now, through no fault of the request.
export const StorageUnavailable = (cause: string) =>
  new AppError(503, 'storage_unavailable', `the database cannot be written: ${cause}; nothing was changed, try again once it is fixed`, { cause });

/**
 * A problem that stops hotprov from starting, described in one line that names the variable or file to fix
 * (no stack trace: the fix is outside the code).
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * SQLite refusals caused by another writer or by the disk, not by the request: a unique row another request
 * created at the same moment (409), a lock held past busy_timeout (503), a full disk or a file turned read-only
 * (503 naming the cause). Each is worth a retry once fixed, none is a fault of hotprov's code.
 */
export function storageConflict(err: unknown): AppError | null {
  const code = errorCode(err);
  if (code === null) return null;
  // PostgreSQL's SQLSTATEs (and the driver's network errors) for the same cases.
  if (code === '23505') return new AppError(409, 'conflict', 'the change conflicts with one made at the same moment; try again');
  if (code === '55P03' || code === '40001' || code === '40P01') return new AppError(503, 'busy', 'the database is busy; try again');
  if (code === '53100') return StorageUnavailable('the disk is full');
  if (code === '25006') return StorageUnavailable('the database is read-only');
  if (/^(08|57P)/.test(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET') return StorageUnavailable('the database cannot be reached');
  if (code.startsWith('SQLITE_CONSTRAINT_UNIQUE')) {
    return new AppError(409, 'conflict', 'the change conflicts with one made at the same moment; try again');
  }
  if (code.startsWith('SQLITE_BUSY')) return new AppError(503, 'busy', 'the database is busy; try again');
  if (code.startsWith('SQLITE_FULL')) return StorageUnavailable('the disk is full');
  if (code.startsWith('SQLITE_READONLY')) return StorageUnavailable('the database file is read-only');
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) return StorageUnavailable('the disk reports an input/output error');
  return null;
}

/** The error code of a database error, on it or on what it wraps (drizzle wraps the driver's error as its cause). */
function errorCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return null;
}

// Tenants and who may act in them (issue 15).
export const Forbidden = (message: string) => new AppError(403, 'forbidden', message);
/** The same answer for a slug that does not exist and for one the caller may not see: nothing to probe. */
export const UnknownTenant = () => new AppError(404, 'unknown_tenant', 'no tenant by that slug');
export const SlugTaken = (slug: string) => new AppError(409, 'slug_taken', `slug ${slug} is taken; choose another`, { field: 'slug' });
export const TenantInUse = (seated: number) =>
  new AppError(
    409,
    'tenant_in_use',
    `${seated} ${seated === 1 ? 'desk is' : 'desks are'} seated in this tenant; log them out first, or force the deletion (the API's ?force=true)`,
    {
      seated,
    },
  );
export const DefaultTenantKept = () => new AppError(409, 'default_tenant', 'the default tenant cannot be deleted');
/** A provider's quota on the tenant's devices or users is reached (or was lowered below what it has). */
export const QuotaExceeded = (kind: 'devices' | 'users', limit: number) =>
  new AppError(409, 'quota_exceeded', `this tenant may have at most ${limit} ${limit === 1 ? kind.slice(0, -1) : kind}`, { limit, kind });
