import * as assert from 'uvu/assert';
import { AppError } from '../../src/errors.ts';

/** What a refusal from the error catalogue must be: its status, its code, and what its message says. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message?: RegExp;
}

/**
 * Asserts that the work (a promise, or a function run now) is refused with the catalogue's error, and answers it
 * for further checks. Anything else (no error, another error) fails the test.
 */
export async function assertAppError(work: Promise<unknown> | (() => unknown), refusal: Refusal): Promise<AppError> {
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    assert.instance(err, AppError, `expected ${refusal.code}, got ${String(err)}`);
    const appError = err as AppError;
    assert.is(appError.code, refusal.code);
    assert.is(appError.status, refusal.status);
    if (refusal.message !== undefined) assert.match(appError.message, refusal.message);
    return appError;
  }
  return assert.unreachable(`expected ${refusal.code}`) as never;
}

/**
 * Asserts that a domain result is the refusal of this kind (`wrong_pin`, `locked`, …), and answers it narrowed to
 * that kind for further checks. An outcome that went through, or another refusal, fails the test.
 */
export function assertRefused<R extends { readonly result: string }, K extends R['result']>(outcome: R, kind: K): Extract<R, { readonly result: K }> {
  assert.is(outcome.result, kind, `expected the refusal ${kind}, got ${outcome.result}`);
  return outcome as Extract<R, { readonly result: K }>;
}
