/**
 * Whether what a read from the database found may still be kept in a cache. A read that began before its entry was
 * forgotten may have found the row as it was before the change the forget is about (on PostgreSQL a read takes a
 * round trip, and the change feed's notice can arrive in between): kept, it would stay stale until the next change.
 * So a read takes a ticket first, and keeps what it found only when nothing forgot its entry since.
 */
export interface ForgetClock {
  /** Taken before a read whose result is to be kept. */
  ticket(): number;
  /** An entry was forgotten: reads of it that began before cannot keep what they found. */
  forgot(id: number): void;
  /** Everything was forgotten: no read that began before can keep anything. */
  forgotAll(): void;
  /** Whether a read of `id` that took `ticket` may keep what it found. */
  current(id: number, ticket: number): boolean;
}

/** Remembers when each entry was last forgotten, for up to `tracked` entries (beyond, a forget counts as of all). */
export function createForgetClock(tracked = 50_000): ForgetClock {
  let forgets = 0;
  let allForgottenAt = 0;
  const forgottenAt = new Map<number, number>();
  const forgotAll = () => {
    forgets++;
    forgottenAt.clear();
    allForgottenAt = forgets;
  };
  return {
    ticket: () => forgets,
    forgot(id) {
      forgets++;
      forgottenAt.set(id, forgets);
      if (forgottenAt.size > tracked) forgotAll();
    },
    forgotAll,
    current: (id, ticket) => ticket >= allForgottenAt && (forgottenAt.get(id) ?? 0) <= ticket,
  };
}
