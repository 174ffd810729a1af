import type { Mac } from '../domain/mac.ts';
import type { RedirectResult } from '../domain/redirect.ts';
import { describeHttpStatus } from '../remoteError.ts';

/** Where the redirect sends a factory-fresh phone, with the credentials it must fetch its files with. */
export interface RedirectTarget {
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

/** One vendor's redirect service (Yealink RPS, Snom SRAPS, Poly ZTP), behind one interface. */
export interface RedirectClient {
  readonly vendor: 'yealink' | 'snom' | 'polycom';
  register(mac: Mac, target: RedirectTarget): Promise<RedirectResult>;
  deregister(mac: Mac): Promise<RedirectResult>;
  check(mac: Mac): Promise<RedirectResult>;
}

export type { RedirectResult };

export const ok = (message = 'ok'): RedirectResult => ({ status: 'registered', message });
export const elsewhere = (message: string): RedirectResult => ({ status: 'registered_elsewhere', message });
export const failed = (message: string): RedirectResult => ({ status: 'error', message });

/** fetch with a time-out: a service that hangs is an error, not a stuck job. */
export async function request(url: string, init: RequestInit, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  return { status: res.status, body };
}

/** A short description of an answer for the admin: its status only, never the remote body (see remoteError.ts). */
export function describe(status: number): string {
  return describeHttpStatus(status);
}
