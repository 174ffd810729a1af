import { createHash, randomBytes } from 'node:crypto';
import { and, asc, count, eq, gt, inArray, isNull, lt, notInArray, or } from 'drizzle-orm';
import { type Db, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import { type AdminRow, type ApiTokenRow, ROLES } from '../db/schema.ts';
import { AppError, Conflict, InvalidField, NotFound } from '../errors.ts';
import { actsIn, canWrite, type Principal, type Role } from './access.ts';
import { recordAudit } from './audit.ts';
import { hashSecret, verifySecret } from './credentials.ts';
import type { Actor } from './deps.ts';

/** Console sign-in: 5 failures lock a user name for 60 s, doubling per further failure up to an hour. */
const ADMIN_LOCKOUT = { failures: 5, baseSeconds: 60, maxSeconds: 3600 } as const;
/** A console session lasts this long without signing in again. */
export const SESSION_HOURS = 12;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const token = () => randomBytes(24).toString('base64url');

const BadCredentials = () => new AppError(401, 'bad_credentials', 'wrong user name or password');

/** Where a console account works: a provider everywhere (no tenant), an admin or helpdesk in one tenant. */
export interface AccountAccess {
  readonly role: Role;
  readonly tenantId: number | null;
}

const PROVIDER_ACCESS: AccountAccess = { role: 'provider', tenantId: null };

/**
 * Creates a console admin; without `access`, a provider (as the first admin and the command line's are).
 * @throws AppError invalid_field (400) for a poor user name, a password under 10 characters, or a role and tenant
 *   that do not go together (a provider has none, the others one); conflict (409).
 */
export async function createAdmin(db: Db, now: Date, username: string, password: string, access: AccountAccess = PROVIDER_ACCESS): Promise<AdminRow> {
  const { admins } = tablesOf(db);
  if (!/^[a-z0-9._-]{2,32}$/.test(username)) throw InvalidField('username', 'use 2 to 32 lower-case letters, digits or . _ -');
  if (password.length < 10) throw InvalidField('password', 'use at least 10 characters');
  if (!(ROLES as readonly string[]).includes(access.role)) throw InvalidField('role', `use one of ${ROLES.join(', ')}`);
  if ((access.role === 'provider') !== (access.tenantId === null)) throw InvalidField('role', 'a provider belongs to no tenant; an admin or helpdesk to one');
  if ((await db.select().from(admins).where(eq(admins.username, username)))[0] !== undefined) throw Conflict(`admin ${username} exists`);
  const passwordHash = await hashSecret(password);
  return await returnedRow(db.insert(admins).values({ username, passwordHash, role: access.role, tenantId: access.tenantId, createdAt: now }).returning());
}

/** On first start: an `admin` account with the given password, when there is no admin yet. */
export async function ensureFirstAdmin(db: Db, now: Date, password: string | null): Promise<AdminRow | null> {
  const { admins } = tablesOf(db);
  if (password === null || (await db.select({ id: admins.id }).from(admins))[0] !== undefined) return null;
  return await createAdmin(db, now, 'admin', password);
}

/**
 * Console accounts by user name: every one (no argument), a tenant's admins and helpdesks (its id), or the
 * providers (null).
 */
export async function listAdmins(db: Db, tenantId?: number | null): Promise<AdminRow[]> {
  const { admins } = tablesOf(db);
  const where = tenantId === undefined ? undefined : tenantId === null ? isNull(admins.tenantId) : eq(admins.tenantId, tenantId);
  return await db.select().from(admins).where(where).orderBy(asc(admins.username));
}

/**
 * Whether `by`, acting in `tenantId`, may create, delete or reset an account with this access: a provider any
 * account of the tenant and other providers, an admin the accounts of its own tenant, a helpdesk none.
 */
export function mayManageAccount(by: Principal, tenantId: number, account: AccountAccess): boolean {
  if (!canWrite(by) || !actsIn(by, tenantId)) return false;
  return account.role === 'provider' ? by.role === 'provider' : account.tenantId === tenantId;
}

/** An account `by` may manage, acting in `tenantId`; any other (or none) is not found, so no other tenant's shows. */
async function manageableAdmin(db: Db, by: Principal, tenantId: number, id: number): Promise<AdminRow> {
  const { admins } = tablesOf(db);
  const row = (await db.select().from(admins).where(eq(admins.id, id)))[0];
  if (row === undefined || !mayManageAccount(by, tenantId, row)) throw NotFound(`admin ${id}`);
  return row;
}

/**
 * Creates a console account that `by`, acting in `tenantId`, may manage (an admin or helpdesk of the tenant, or
 * for a provider another provider), audited in the tenant (the name and role, never the password).
 * @throws AppError not_found (404) for a role `by` may not give; what createAdmin throws.
 */
export async function createManagedAdmin(
  db: Db,
  now: Date,
  by: Principal,
  actor: Actor,
  tenantId: number,
  input: { readonly username: string; readonly password: string; readonly role: Role },
): Promise<AdminRow> {
  const access = { role: input.role, tenantId: input.role === 'provider' ? null : tenantId };
  if (!mayManageAccount(by, tenantId, access)) throw NotFound(`role ${input.role}`);
  const row = await createAdmin(db, now, input.username, input.password, access);
  await recordAudit(db, tenantId, now, actor, { action: 'admin.created', detail: { username: row.username, role: row.role } });
  return row;
}

/**
 * Deletes a console account (its sessions end with it). Nobody deletes their own account, so a tenant is never
 * left without the admin who was about to.
 * @throws AppError not_found (404) for an account `by` may not manage; conflict (409) for one's own.
 */
export async function deleteAdmin(
  db: Db,
  now: Date,
  by: Principal,
  tenantId: number,
  id: number,
  actor: Actor = { name: `admin:${by.name}` },
): Promise<AdminRow> {
  const { admins } = tablesOf(db);
  return await writeTransaction(db, async (tx) => {
    const row = await manageableAdmin(tx, by, tenantId, id);
    if (actor.name === `admin:${row.username}`) throw Conflict('you cannot delete the account you are signed in with');
    await tx.delete(admins).where(eq(admins.id, row.id));
    await recordAudit(tx, tenantId, now, actor, { action: 'admin.deleted', detail: { username: row.username, role: row.role } });
    return row;
  });
}

/**
 * Gives an account a new password and ends its sessions.
 * @throws AppError not_found (404) for an account `by` may not manage; invalid_field (400) for a short password.
 */
export async function resetAdminPassword(
  db: Db,
  now: Date,
  by: Principal,
  tenantId: number,
  id: number,
  password: string,
  actor: Actor = { name: `admin:${by.name}` },
): Promise<AdminRow> {
  const { adminSessions, admins } = tablesOf(db);
  if (password.length < 10) throw InvalidField('password', 'use at least 10 characters');
  await manageableAdmin(db, by, tenantId, id);
  const passwordHash = await hashSecret(password);
  return await writeTransaction(db, async (tx) => {
    const row = await manageableAdmin(tx, by, tenantId, id);
    await tx.update(admins).set({ passwordHash }).where(eq(admins.id, row.id));
    await tx.delete(adminSessions).where(eq(adminSessions.adminId, row.id));
    await recordAudit(tx, tenantId, now, actor, { action: 'admin.password_reset', detail: { username: row.username } });
    return row;
  });
}

/** The principal a console account acts as. */
export const principalOf = (admin: AdminRow): Principal => ({ name: admin.username, role: admin.role, tenantId: admin.tenantId });

export interface ConsoleSession {
  readonly admin: AdminRow;
  readonly csrfToken: string;
  /** The tenant a provider chose in the switcher (null: the default tenant); admins and helpdesks keep their own. */
  readonly tenantId: number | null;
  /** The notice or error left for this page by the change before it, taken once. */
  readonly flash: Flash | null;
}

/** A message for the next page of a session. */
export interface Flash {
  readonly notice?: string;
  readonly error?: string;
  /** A refused form's fields as they were typed, to fill it in again (never a form with a secret in it). */
  readonly form?: Readonly<Record<string, string>>;
}

export interface SignInDeps {
  readonly db: Db;
  readonly now: () => Date;
  /** credentials.verifySecret unless a test counts the checks. */
  readonly verifySecret?: (secret: string, hash: string) => Promise<boolean>;
}

/** How many user names the sign-in throttle remembers at most; the oldest names no admin has go first. */
export const SIGN_IN_THROTTLE_ROWS = 10_000;
/** A name not tried for this long (and not locked) is forgotten. */
const SIGN_IN_THROTTLE_KEEP_MS = 24 * 3600_000;
// Checked for an unknown name, so its answer costs as much as a known one's.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA';

const SignInLocked = (until: Date) =>
  new AppError(423, 'locked', `too many failed sign-ins; try again after ${until.toISOString()}`, { lockedUntil: until.toISOString() });
const SignInBusy = () => new AppError(429, 'too_many_attempts', 'too many sign-ins for this name are under way; try again in a moment');

/**
 * Checks a user name and password and opens a session. Every name tried has a throttle row, known or not, so
 * a lockout tells nothing about which names exist; the check is reserved in the transaction that reads the lock,
 * before the password is looked at, so a burst checks no more passwords than the tries left. Every failure is
 * audited (the name, never the password).
 * @returns the cookie token (only its hash is stored) and the session.
 * @throws AppError bad_credentials (401), locked (423) with lockedUntil, too_many_attempts (429).
 */
export async function signIn(deps: SignInDeps, tenantId: number, username: string, password: string): Promise<{ token: string; session: ConsoleSession }> {
  const { adminSessions, admins, signInThrottles } = tablesOf(deps.db);
  // The name is stored and audited: keep it short and printable whatever was typed.
  const name = username.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 64);
  const failed = async (tx: Db, error: AppError): Promise<AppError> => {
    // An account's failures go to its own tenant's log; a name nobody has, to the tenant the console opens in.
    const owner = (await tx.select({ tenantId: admins.tenantId }).from(admins).where(eq(admins.username, username)))[0];
    await recordAudit(
      tx,
      owner?.tenantId ?? tenantId,
      deps.now(),
      { name: 'console' },
      { action: 'console.sign_in_failed', detail: { username: name, reason: error.code, ...error.details } },
    );
    return error;
  };
  const reserved = await writeTransaction(deps.db, async (tx) => {
    const now = deps.now();
    await pruneSignInThrottles(tx, now);
    const row = (await tx.select().from(signInThrottles).where(eq(signInThrottles.username, name)))[0];
    if (row?.lockedUntil != null && row.lockedUntil > now) return { refused: await failed(tx, SignInLocked(row.lockedUntil)) };
    // Tries left before a lockout; once one has run out, each further failure locks again, so one at a time.
    if (row !== undefined && row.pending >= Math.max(1, ADMIN_LOCKOUT.failures - row.failures)) {
      return { refused: await failed(tx, SignInBusy()) };
    }
    if (row === undefined) await tx.insert(signInThrottles).values({ username: name, pending: 1, lastAttemptAt: now });
    else
      await tx
        .update(signInThrottles)
        .set({ pending: row.pending + 1, lastAttemptAt: now })
        .where(eq(signInThrottles.username, name));
    return { admin: (await tx.select().from(admins).where(eq(admins.username, username)))[0] };
  });
  if ('refused' in reserved) throw reserved.refused;
  const { admin } = reserved;

  const release = async (tx: Db) => {
    const row = (await tx.select().from(signInThrottles).where(eq(signInThrottles.username, name)))[0];
    if (row !== undefined)
      await tx
        .update(signInThrottles)
        .set({ pending: Math.max(0, row.pending - 1) })
        .where(eq(signInThrottles.username, name));
    return row;
  };
  let ok: boolean;
  try {
    ok = await (deps.verifySecret ?? verifySecret)(password, admin?.passwordHash ?? DUMMY_HASH);
  } catch (err) {
    await writeTransaction(deps.db, release);
    throw err;
  }
  const now = deps.now();
  // Settling must not leave the check reserved: if its transaction fails (a full disk), the reservation alone
  // is released, an update in place that needs no new room.
  const settle = async <T>(work: (tx: Db) => Promise<T>): Promise<T> => {
    try {
      return await writeTransaction(deps.db, work);
    } catch (err) {
      try {
        await writeTransaction(deps.db, release);
      } catch {
        // the disk refuses even that: start-up releases every reservation
      }
      throw err;
    }
  };
  if (!ok || admin === undefined) {
    throw await settle(async (tx) => {
      const row = await release(tx);
      const failures = (row?.failures ?? 0) + 1;
      const extra = failures - ADMIN_LOCKOUT.failures;
      const lockedUntil = extra < 0 ? null : new Date(now.getTime() + Math.min(ADMIN_LOCKOUT.baseSeconds * 2 ** extra, ADMIN_LOCKOUT.maxSeconds) * 1000);
      await tx.update(signInThrottles).set({ failures, lockedUntil }).where(eq(signInThrottles.username, name));
      return await failed(tx, BadCredentials());
    });
  }
  const cookie = token();
  const csrfToken = token();
  await settle(async (tx) => {
    await release(tx);
    await tx.update(signInThrottles).set({ failures: 0, lockedUntil: null }).where(eq(signInThrottles.username, name));
    await tx.insert(adminSessions).values({
      adminId: admin.id,
      tokenHash: sha256(cookie),
      csrfToken,
      tenantId: admin.tenantId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + SESSION_HOURS * 3600_000),
    });
    // In the account's own tenant's log: another tenant's admins do not learn who signs in where.
    await recordAudit(tx, admin.tenantId ?? tenantId, now, { name: `admin:${admin.username}` }, { action: 'console.signed_in' });
  });
  return { token: cookie, session: { admin, csrfToken, tenantId: admin.tenantId, flash: null } };
}

/**
 * Keeps the sign-in throttle small: names not tried for a day and not locked are forgotten, and beyond
 * SIGN_IN_THROTTLE_ROWS the longest-untried names no admin has go, whatever their state (an unknown name
 * has no account to protect). Inside the sign-in's transaction.
 */
async function pruneSignInThrottles(tx: Db, now: Date): Promise<void> {
  const { admins, signInThrottles } = tablesOf(tx);
  await tx
    .delete(signInThrottles)
    .where(
      and(
        lt(signInThrottles.lastAttemptAt, new Date(now.getTime() - SIGN_IN_THROTTLE_KEEP_MS)),
        eq(signInThrottles.pending, 0),
        or(isNull(signInThrottles.lockedUntil), lt(signInThrottles.lockedUntil, now)),
      ),
    );
  const rows = (await tx.select({ n: count() }).from(signInThrottles))[0]?.n ?? 0;
  if (rows < SIGN_IN_THROTTLE_ROWS) return;
  const longestUntried = tx
    .select({ username: signInThrottles.username })
    .from(signInThrottles)
    .where(and(notInArray(signInThrottles.username, tx.select({ username: admins.username }).from(admins)), eq(signInThrottles.pending, 0)))
    .orderBy(asc(signInThrottles.lastAttemptAt))
    .limit(rows - SIGN_IN_THROTTLE_ROWS + 1);
  await tx.delete(signInThrottles).where(inArray(signInThrottles.username, longestUntried));
}

/** At start-up no check is under way: reservations left by a process that stopped mid-check are released. */
export async function releasePendingSignIns(db: Db): Promise<void> {
  const { signInThrottles } = tablesOf(db);
  await db.update(signInThrottles).set({ pending: 0 });
}

/** The session a cookie token belongs to, if it has not expired. */
export async function sessionByToken(db: Db, now: Date, cookie: string): Promise<ConsoleSession | null> {
  const { adminSessions, admins } = tablesOf(db);
  const row = (
    await db
      .select({ admin: admins, csrfToken: adminSessions.csrfToken, flash: adminSessions.flash, tenantId: adminSessions.tenantId })
      .from(adminSessions)
      .innerJoin(admins, eq(admins.id, adminSessions.adminId))
      .where(and(eq(adminSessions.tokenHash, sha256(cookie)), gt(adminSessions.expiresAt, now)))
  )[0];
  if (row === undefined) return null;
  return { admin: row.admin, csrfToken: row.csrfToken, tenantId: row.tenantId, flash: row.flash === null ? null : (JSON.parse(row.flash) as Flash) };
}

/** The tenant a provider's session acts in from now on (the console's switcher). */
export async function setSessionTenant(db: Db, cookie: string, tenantId: number): Promise<void> {
  const { adminSessions } = tablesOf(db);
  await db
    .update(adminSessions)
    .set({ tenantId })
    .where(eq(adminSessions.tokenHash, sha256(cookie)));
}

/** Leaves a notice or error for the next page the session shows (null takes it away once shown). */
export async function setFlash(db: Db, cookie: string, flash: Flash | null): Promise<void> {
  const { adminSessions } = tablesOf(db);
  await db
    .update(adminSessions)
    .set({ flash: flash === null ? null : JSON.stringify(flash) })
    .where(eq(adminSessions.tokenHash, sha256(cookie)));
}

export async function signOut(db: Db, cookie: string): Promise<void> {
  const { adminSessions } = tablesOf(db);
  await db.delete(adminSessions).where(eq(adminSessions.tokenHash, sha256(cookie)));
}

/** Creates an API token and returns it: the only time it can be read. Without `access`, a provider's token. */
export async function createApiToken(
  db: Db,
  now: Date,
  name: string,
  createdBy: string,
  access: AccountAccess = PROVIDER_ACCESS,
): Promise<{ token: string; row: ApiTokenRow }> {
  const { apiTokens } = tablesOf(db);
  if (!/^[\w .-]{1,64}$/.test(name)) throw InvalidField('name', 'use 1 to 64 letters, digits, spaces or . _ -');
  if (!(ROLES as readonly string[]).includes(access.role)) throw InvalidField('role', `use one of ${ROLES.join(', ')}`);
  if ((access.role === 'provider') !== (access.tenantId === null))
    throw InvalidField('role', 'a provider token belongs to no tenant; an admin or helpdesk one to one');
  const value = `hp_${token()}`;
  const row = await returnedRow(
    db
      .insert(apiTokens)
      .values({ name, tokenHash: sha256(value), createdBy, role: access.role, tenantId: access.tenantId, createdAt: now })
      .returning(),
  );
  return { token: value, row };
}

/** API tokens: every one (no argument), a tenant's (its id), or the providers' (null). */
export async function listApiTokens(db: Db, tenantId?: number | null): Promise<ApiTokenRow[]> {
  const { apiTokens } = tablesOf(db);
  const where = tenantId === undefined ? undefined : tenantId === null ? isNull(apiTokens.tenantId) : eq(apiTokens.tenantId, tenantId);
  return await db.select().from(apiTokens).where(where).orderBy(asc(apiTokens.id));
}

/**
 * Revokes a live token; with `tenantId`, only one of that tenant's (null: a provider's), another is not found.
 * @throws AppError not_found (404).
 */
export async function revokeApiToken(db: Db, now: Date, id: number, tenantId?: number | null): Promise<void> {
  const { apiTokens } = tablesOf(db);
  const inTenant = tenantId === undefined ? undefined : tenantId === null ? isNull(apiTokens.tenantId) : eq(apiTokens.tenantId, tenantId);
  const result = await db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt), inTenant));
  if (result.changes === 0) throw NotFound(`API token ${id}`);
}

/** A token's last use is written at most this often: a busy token costs a read per request, not a write. */
export const TOKEN_USE_RESOLUTION_MS = 5 * 60_000;

/**
 * Who a live API token is: its name, role and tenant; null for an unknown or revoked token, and for a token of a
 * deleted tenant. With `now`, the token's last use is recorded when the one recorded is older than
 * TOKEN_USE_RESOLUTION_MS.
 */
export async function apiTokenPrincipal(db: Db, value: string, now?: Date): Promise<Principal | null> {
  const { apiTokens, tenants } = tablesOf(db);
  const row = (
    await db
      .select({
        id: apiTokens.id,
        name: apiTokens.name,
        role: apiTokens.role,
        tenantId: apiTokens.tenantId,
        lastUsedAt: apiTokens.lastUsedAt,
        tenantRetiredAt: tenants.retiredAt,
      })
      .from(apiTokens)
      .leftJoin(tenants, eq(tenants.id, apiTokens.tenantId))
      .where(and(eq(apiTokens.tokenHash, sha256(value)), isNull(apiTokens.revokedAt)))
  )[0];
  if (row === undefined || row.tenantRetiredAt !== null) return null;
  if (now !== undefined && (row.lastUsedAt === null || now.getTime() - row.lastUsedAt.getTime() >= TOKEN_USE_RESOLUTION_MS)) {
    try {
      await writeTransaction(db, async (tx) => {
        await tx.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, row.id));
      });
    } catch {
      // A full or read-only database refuses the note, not the request: the token is still who it is.
    }
  }
  // Only a provider has no tenant; a tenant's token whose tenant is gone acts nowhere.
  if (row.role === 'provider') return { name: row.name, role: 'provider', tenantId: null };
  return row.tenantId === null ? null : { name: row.name, role: row.role, tenantId: row.tenantId };
}

/**
 * Creates an API token of a tenant (an admin or helpdesk one) and returns it: the only time it can be read.
 * Audited in that tenant (its name and role, never its value).
 */
export async function createTenantToken(
  db: Db,
  now: Date,
  actor: Actor,
  tenantId: number,
  input: { readonly name: string; readonly role: Exclude<Role, 'provider'> },
): Promise<{ token: string; row: ApiTokenRow }> {
  const { apiTokens } = tablesOf(db);
  if (!/^[\w .-]{1,64}$/.test(input.name)) throw InvalidField('name', 'use 1 to 64 letters, digits, spaces or . _ -');
  const value = `hp_${token()}`;
  const row = await writeTransaction(db, async (tx) => {
    const created = await returnedRow(
      tx
        .insert(apiTokens)
        .values({ name: input.name, tokenHash: sha256(value), role: input.role, tenantId, createdBy: actor.name, createdAt: now })
        .returning(),
    );
    await recordAudit(tx, tenantId, now, actor, { action: 'api_token.created', detail: { id: created.id, name: created.name, role: created.role } });
    return created;
  });
  return { token: value, row };
}

/** A tenant's API tokens, revoked ones included (never their values: only hashes are kept). */
export async function listTenantTokens(db: Db, tenantId: number): Promise<ApiTokenRow[]> {
  const { apiTokens } = tablesOf(db);
  return await db.select().from(apiTokens).where(eq(apiTokens.tenantId, tenantId)).orderBy(asc(apiTokens.id));
}

/**
 * Revokes one of a tenant's live API tokens, audited in that tenant.
 * @throws AppError not_found (404) for a token that is not the tenant's, or already revoked.
 */
export async function revokeTenantToken(db: Db, now: Date, actor: Actor, tenantId: number, id: number): Promise<ApiTokenRow> {
  const { apiTokens } = tablesOf(db);
  return await writeTransaction(db, async (tx) => {
    const row = (
      await tx
        .update(apiTokens)
        .set({ revokedAt: now })
        .where(and(eq(apiTokens.id, id), eq(apiTokens.tenantId, tenantId), isNull(apiTokens.revokedAt)))
        .returning()
    )[0];
    if (row === undefined) throw NotFound(`API token ${id}`);
    await recordAudit(tx, tenantId, now, actor, { action: 'api_token.revoked', detail: { id: row.id, name: row.name, role: row.role } });
    return row;
  });
}
