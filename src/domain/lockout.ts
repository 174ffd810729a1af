import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { loginThrottles } from '../db/schema.ts';
import { AppError } from '../errors.ts';

/**
 * PIN lockout with back-off. A user is locked after USER_FAILURES wrong PINs in a row, a device after
 * DEVICE_FAILURES (someone trying many extensions from one phone). The first lockout lasts BASE_SECONDS;
 * each further one before a successful login twice as long, up to MAX_SECONDS.
 */
export const LOCKOUT = { userFailures: 5, deviceFailures: 10, baseSeconds: 60, maxSeconds: 3600 } as const;

export type ThrottleSubject = { readonly subject: 'user' | 'device'; readonly id: number };

export const Locked = (what: string, until: Date) =>
  new AppError(423, 'locked', `${what} is locked after repeated wrong PINs until ${until.toISOString()}`, {
    lockedUntil: until.toISOString(),
  });

const limitOf = (s: ThrottleSubject) => (s.subject === 'user' ? LOCKOUT.userFailures : LOCKOUT.deviceFailures);

function rowOf(db: Db, tenantId: number, s: ThrottleSubject) {
  return db
    .select()
    .from(loginThrottles)
    .where(and(eq(loginThrottles.tenantId, tenantId), eq(loginThrottles.subject, s.subject), eq(loginThrottles.subjectId, s.id)))
    .get();
}

/** The time a subject stays locked until, or null when it is not locked at `now`. */
export function lockedUntil(db: Db, tenantId: number, s: ThrottleSubject, now: Date): Date | null {
  const until = rowOf(db, tenantId, s)?.lockedUntil ?? null;
  return until !== null && until > now ? until : null;
}

export interface FailureOutcome {
  /** Wrong PINs the subject may still enter before it is locked. */
  readonly triesLeft: number;
  /** Set when this failure locked the subject. */
  readonly lockedUntil: Date | null;
}

/** Counts one wrong PIN against a subject, locking it when it reaches its limit. Run inside a transaction. */
export function recordFailure(tx: Db, tenantId: number, s: ThrottleSubject, now: Date): FailureOutcome {
  const row = rowOf(tx, tenantId, s) ?? tx.insert(loginThrottles).values({ tenantId, subject: s.subject, subjectId: s.id }).returning().get();
  const failures = row.failures + 1;
  const limit = limitOf(s);
  if (failures < limit) {
    tx.update(loginThrottles).set({ failures }).where(eq(loginThrottles.id, row.id)).run();
    return { triesLeft: limit - failures, lockedUntil: null };
  }
  const seconds = Math.min(LOCKOUT.baseSeconds * 2 ** row.lockouts, LOCKOUT.maxSeconds);
  const until = new Date(now.getTime() + seconds * 1000);
  tx.update(loginThrottles)
    .set({ failures: 0, lockouts: row.lockouts + 1, lockedUntil: until })
    .where(eq(loginThrottles.id, row.id))
    .run();
  return { triesLeft: 0, lockedUntil: until };
}

/** Forgets a subject's failures and lockouts after a successful login. */
export function clearFailures(tx: Db, tenantId: number, s: ThrottleSubject): void {
  tx.delete(loginThrottles)
    .where(and(eq(loginThrottles.tenantId, tenantId), eq(loginThrottles.subject, s.subject), eq(loginThrottles.subjectId, s.id)))
    .run();
}
