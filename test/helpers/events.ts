/**
 * Events a test waits on instead of sleeping: every event is kept in order, and `next` resolves with the first one
 * (from a given position on) that matches. The deadline only keeps a broken test from hanging: it fails the test
 * with what was seen, it is not a timing assertion.
 */
export class Events<T> {
  readonly seen: T[] = [];
  private waiters: { from: number; match: (event: T) => boolean; resolve: (event: T) => void }[] = [];
  private readonly deadlineMs: number;

  constructor(deadlineMs = 30_000) {
    this.deadlineMs = deadlineMs;
  }

  push(event: T): void {
    this.seen.push(event);
    const index = this.seen.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (index < w.from || !w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  /** The first event at or after position `from` (0: any event so far) that matches, now or when it comes. */
  next(what: string, match: (event: T) => boolean = () => true, from = 0): Promise<T> {
    const found = this.seen.slice(from).find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`waited ${this.deadlineMs} ms for ${what}; seen: ${JSON.stringify(this.seen).slice(0, 500)}`));
      }, this.deadlineMs);
      const done = (event: T) => {
        clearTimeout(timer);
        resolve(event);
      };
      this.waiters.push({ from, match, resolve: done });
    });
  }
}

/** Resolves once `check` holds, asked every few milliseconds (for state only a query shows); fails after 30 s. */
export async function until(what: string, check: () => Promise<boolean> | boolean, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${deadlineMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
