import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import { type Db, writeTransaction } from '../db/client.ts';
import { type AdminRow, type ApiTokenRow, adminSessions, admins, apiTokens } from '../db/schema.ts';
import { AppError, Conflict, InvalidField, NotFound } from '../errors.ts';
import { hashSecret, verifySecret } from './credentials.ts';

/** Console sign-in: 5 failures lock an account for 60 s, doubling per further failure up to an hour. */
const ADMIN_LOCKOUT = { failures: 5, baseSeconds: 60, maxSeconds: 3600 } as const;
/** A console session lasts this long without signing in again. */
export const SESSION_HOURS = 12;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const token = () => randomBytes(24).toString('base64url');

const BadCredentials = () => new AppError(401, 'bad_credentials', 'wrong user name or password');

/**
 * Creates a console admin.
 * @throws AppError invalid_field (400) for a poor user name or a password under 10 characters; conflict (409).
 */
export async function createAdmin(db: Db, now: Date, username: string, password: string): Promise<AdminRow> {
  if (!/^[a-z0-9._-]{2,32}$/.test(username)) throw InvalidField('username', 'use 2 to 32 lower-case letters, digits or . _ -');
  if (password.length < 10) throw InvalidField('password', 'use at least 10 characters');
  if (db.select().from(admins).where(eq(admins.username, username)).get() !== undefined) throw Conflict(`admin ${username} exists`);
  const passwordHash = await hashSecret(password);
  return db.insert(admins).values({ username, passwordHash, createdAt: now }).returning().get();
}

/** On first start: an `admin` account with the given password, when there is no admin yet. */
export async function ensureFirstAdmin(db: Db, now: Date, password: string | null): Promise<AdminRow | null> {
  if (password === null || db.select({ id: admins.id }).from(admins).get() !== undefined) return null;
  return createAdmin(db, now, 'admin', password);
}

export function listAdmins(db: Db): AdminRow[] {
  return db.select().from(admins).orderBy(asc(admins.username)).all();
}

export interface ConsoleSession {
  readonly admin: AdminRow;
  readonly csrfToken: string;
}

/**
 * Checks a user name and password and opens a session.
 * @returns the cookie token (only its hash is stored) and the session.
 * @throws AppError bad_credentials (401), or locked (423) with lockedUntil.
 */
export async function signIn(db: Db, now: Date, username: string, password: string): Promise<{ token: string; session: ConsoleSession }> {
  const admin = db.select().from(admins).where(eq(admins.username, username)).get();
  if (admin?.lockedUntil != null && admin.lockedUntil > now) {
    throw new AppError(423, 'locked', `too many failed sign-ins; try again after ${admin.lockedUntil.toISOString()}`, {
      lockedUntil: admin.lockedUntil.toISOString(),
    });
  }
  // Hash even for an unknown user, so the answer takes as long either way.
  const ok = await verifySecret(password, admin?.passwordHash ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA');
  if (admin === undefined) throw BadCredentials();
  if (!ok) {
    const failures = admin.failedLogins + 1;
    const extra = failures - ADMIN_LOCKOUT.failures;
    const lockedUntil = extra < 0 ? null : new Date(now.getTime() + Math.min(ADMIN_LOCKOUT.baseSeconds * 2 ** extra, ADMIN_LOCKOUT.maxSeconds) * 1000);
    db.update(admins).set({ failedLogins: failures, lockedUntil }).where(eq(admins.id, admin.id)).run();
    throw BadCredentials();
  }
  const cookie = token();
  const csrfToken = token();
  writeTransaction(db, (tx) => {
    tx.update(admins).set({ failedLogins: 0, lockedUntil: null }).where(eq(admins.id, admin.id)).run();
    tx.insert(adminSessions)
      .values({ adminId: admin.id, tokenHash: sha256(cookie), csrfToken, createdAt: now, expiresAt: new Date(now.getTime() + SESSION_HOURS * 3600_000) })
      .run();
  });
  return { token: cookie, session: { admin, csrfToken } };
}

/** The session a cookie token belongs to, if it has not expired. */
export function sessionByToken(db: Db, now: Date, cookie: string): ConsoleSession | null {
  const row = db
    .select({ admin: admins, csrfToken: adminSessions.csrfToken })
    .from(adminSessions)
    .innerJoin(admins, eq(admins.id, adminSessions.adminId))
    .where(and(eq(adminSessions.tokenHash, sha256(cookie)), gt(adminSessions.expiresAt, now)))
    .get();
  return row ?? null;
}

export function signOut(db: Db, cookie: string): void {
  db.delete(adminSessions).where(eq(adminSessions.tokenHash, sha256(cookie))).run();
}

/** Creates an API token and returns it: the only time it can be read. */
export function createApiToken(db: Db, now: Date, name: string, createdBy: string): { token: string; row: ApiTokenRow } {
  if (!/^[\w .-]{1,64}$/.test(name)) throw InvalidField('name', 'use 1 to 64 letters, digits, spaces or . _ -');
  const value = `hp_${token()}`;
  const row = db.insert(apiTokens).values({ name, tokenHash: sha256(value), createdBy, createdAt: now }).returning().get();
  return { token: value, row };
}

export function listApiTokens(db: Db): ApiTokenRow[] {
  return db.select().from(apiTokens).orderBy(asc(apiTokens.id)).all();
}

export function revokeApiToken(db: Db, now: Date, id: number): void {
  const result = db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .run();
  if (result.changes === 0) throw NotFound(`API token ${id}`);
}

/** The name of the live API token with this value, or null. */
export function apiTokenName(db: Db, value: string): string | null {
  const row = db
    .select({ name: apiTokens.name })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, sha256(value)), isNull(apiTokens.revokedAt)))
    .get();
  return row?.name ?? null;
}
