import { and, eq } from 'drizzle-orm';
import { type Db, returnedRow, tablesOf } from '../db/client.ts';

/**
 * PIN lockout with back-off. A user is locked after USER_FAILURES wrong PINs in a row, a device after
 * DEVICE_FAILURES (someone trying many extensions from one phone). The first lockout lasts BASE_SECONDS;
 * each further one before a successful login twice as long, up to MAX_SECONDS.
 *
 * An attempt is counted *before* its PIN is checked, in the write transaction that reads the lock (reserveAttempt:
 * `pending`), and settled after the check (settleAttempt: forgotten when right, a failure when wrong). A check is
 * only reserved while failures plus checks under way stay below the limit, so however many requests run at once,
 * no more PINs are checked than the tries left.
 */
export const LOCKOUT = { userFailures: 5, deviceFailures: 10, baseSeconds: 60, maxSeconds: 3600 } as const;

export type ThrottleSubject = { readonly subject: 'user' | 'device'; readonly id: number };

const limitOf = (s: ThrottleSubject) => (s.subject === 'user' ? LOCKOUT.userFailures : LOCKOUT.deviceFailures);

async function rowOf(db: Db, tenantId: number, s: ThrottleSubject) {
  const { loginThrottles } = tablesOf(db);
  return (
    await db
      .select()
      .from(loginThrottles)
      .where(and(eq(loginThrottles.tenantId, tenantId), eq(loginThrottles.subject, s.subject), eq(loginThrottles.subjectId, s.id)))
  )[0];
}

/** The time a subject stays locked until, or null when it is not locked at `now`. */
export async function lockedUntil(db: Db, tenantId: number, s: ThrottleSubject, now: Date): Promise<Date | null> {
  const until = (await rowOf(db, tenantId, s))?.lockedUntil ?? null;
  return until !== null && until > now ? until : null;
}

export interface FailureOutcome {
  /** Wrong PINs the subject may still enter before it is locked. */
  readonly triesLeft: number;
  /** Set when this failure locked the subject. */
  readonly lockedUntil: Date | null;
}

/** Counts one wrong PIN against a subject, locking it when it reaches its limit. Run inside a write transaction. */
export async function recordFailure(tx: Db, tenantId: number, s: ThrottleSubject, now: Date): Promise<FailureOutcome> {
  const { loginThrottles } = tablesOf(tx);
  const row =
    (await rowOf(tx, tenantId, s)) ?? (await returnedRow(tx.insert(loginThrottles).values({ tenantId, subject: s.subject, subjectId: s.id }).returning()));
  const failures = row.failures + 1;
  const limit = limitOf(s);
  if (failures < limit) {
    await tx.update(loginThrottles).set({ failures }).where(eq(loginThrottles.id, row.id));
    return { triesLeft: limit - failures, lockedUntil: null };
  }
  const seconds = Math.min(LOCKOUT.baseSeconds * 2 ** row.lockouts, LOCKOUT.maxSeconds);
  const until = new Date(now.getTime() + seconds * 1000);
  await tx
    .update(loginThrottles)
    .set({ failures: 0, lockouts: row.lockouts + 1, lockedUntil: until })
    .where(eq(loginThrottles.id, row.id));
  return { triesLeft: 0, lockedUntil: until };
}

/** What reserving a PIN check against some subjects gave. */
export type Reservation =
  | { readonly kind: 'locked'; readonly subject: ThrottleSubject; readonly until: Date }
  /** Every try left is already being checked by requests under way: refused without looking at the PIN. */
  | { readonly kind: 'busy'; readonly subject: ThrottleSubject }
  | { readonly kind: 'reserved' };

/**
 * Reserves one PIN check against every subject, before the PIN is looked at: refused when any subject is locked,
 * or when the checks already under way use up its tries left; else each subject's `pending` goes up by one.
 * Run inside the write transaction that read the subjects; settle it with settleAttempt whatever happens.
 */
export async function reserveAttempt(tx: Db, tenantId: number, subjects: readonly ThrottleSubject[], now: Date): Promise<Reservation> {
  const { loginThrottles } = tablesOf(tx);
  const rows = [];
  for (const s of subjects) rows.push({ s, row: await rowOf(tx, tenantId, s) });
  for (const { s, row } of rows) {
    if (row?.lockedUntil != null && row.lockedUntil > now) return { kind: 'locked', subject: s, until: row.lockedUntil };
  }
  for (const { s, row } of rows) {
    // After a lockout ran out its count starts again; pending checks may not outnumber the tries left.
    if (row !== undefined && row.failures + row.pending >= limitOf(s)) return { kind: 'busy', subject: s };
  }
  for (const { s, row } of rows) {
    if (row === undefined) await tx.insert(loginThrottles).values({ tenantId, subject: s.subject, subjectId: s.id, pending: 1 });
    else
      await tx
        .update(loginThrottles)
        .set({ pending: row.pending + 1 })
        .where(eq(loginThrottles.id, row.id));
  }
  return { kind: 'reserved' };
}

export interface Settled extends FailureOutcome {
  /** The subjects this wrong PIN locked, each with its end, for the audit log. */
  readonly locked: readonly { readonly subject: ThrottleSubject; readonly until: Date }[];
}

/**
 * Ends a reserved check: a right PIN forgets each subject's failures and lockouts, a wrong one counts as a
 * failure (locking a subject that reaches its limit), anything else (the check could not run) only releases it.
 * Run inside a write transaction.
 */
export async function settleAttempt(
  tx: Db,
  tenantId: number,
  subjects: readonly ThrottleSubject[],
  now: Date,
  outcome: 'right' | 'wrong' | 'released',
): Promise<Settled> {
  const { loginThrottles } = tablesOf(tx);
  let triesLeft = Number.POSITIVE_INFINITY;
  let lockedMs = 0;
  const locked: { subject: ThrottleSubject; until: Date }[] = [];
  for (const s of subjects) {
    const row = await rowOf(tx, tenantId, s);
    if (row !== undefined) {
      const pending = Math.max(0, row.pending - 1);
      if (outcome === 'right')
        await tx.update(loginThrottles).set({ pending, failures: 0, lockouts: 0, lockedUntil: null }).where(eq(loginThrottles.id, row.id));
      else await tx.update(loginThrottles).set({ pending }).where(eq(loginThrottles.id, row.id));
    }
    if (outcome !== 'wrong') continue;
    const result = await recordFailure(tx, tenantId, s, now);
    triesLeft = Math.min(triesLeft, result.triesLeft);
    if (result.lockedUntil !== null) {
      lockedMs = Math.max(lockedMs, result.lockedUntil.getTime());
      locked.push({ subject: s, until: result.lockedUntil });
    }
  }
  return { triesLeft: Number.isFinite(triesLeft) ? triesLeft : 0, lockedUntil: lockedMs === 0 ? null : new Date(lockedMs), locked };
}

/** At start-up no check is under way: reservations left by a process that stopped mid-check are released. */
export async function releaseAllPending(db: Db): Promise<void> {
  const { loginThrottles } = tablesOf(db);
  await db.update(loginThrottles).set({ pending: 0 });
}

/** Forgets a subject's failures and lockouts after a successful login. */
export async function clearFailures(tx: Db, tenantId: number, s: ThrottleSubject): Promise<void> {
  const { loginThrottles } = tablesOf(tx);
  await tx.delete(loginThrottles).where(and(eq(loginThrottles.tenantId, tenantId), eq(loginThrottles.subject, s.subject), eq(loginThrottles.subjectId, s.id)));
}
