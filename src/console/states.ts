import type { SyncJobRow } from '../db/schema.ts';
import { when } from './pageKit.ts';

/** How the console shows a re-sync: a word for the badge's colour, the state as admins say it, and what else to know. */
export interface SyncInWords {
  /** ok, waiting or failed: the badge's colour (`sync-ok`, …). */
  readonly tone: 'ok' | 'waiting' | 'failed' | 'none';
  /** "phone updated", "waiting for phone", "phone did not answer", "could not be sent: <reason>", … */
  readonly text: string;
  /** Why, in the row itself (never only in a tooltip): the phone's or the PBX's answer, the error. */
  readonly detail: string | null;
  /** When a failed re-sync is tried again (with its time zone), blank for never. */
  readonly retry: string;
  /** What the change was (logout, device updated, reboot, …). */
  readonly reason: string;
}

/**
 * The re-sync of a device's last change in the words admins use. A NOTIFY that never left (`sentAt` null: nowhere to
 * send it, the connection or the PBX refused) "could not be sent"; one that left and got no answer: "phone did not
 * answer"; one answered but never fetched: "phone did not update".
 */
export function syncInWords(job: SyncJobRow | null | undefined): SyncInWords | null {
  if (job == null) return null;
  const base = { reason: job.reason, retry: when(job.retryAt) };
  switch (job.state) {
    case 'fetched':
      return { ...base, tone: 'ok', text: 'phone updated', detail: null };
    case 'superseded':
      return { ...base, tone: 'none', text: 'replaced by a newer change', detail: null };
    case 'failed':
      if (job.sentAt === null) return { ...base, tone: 'failed', text: `could not be sent: ${job.error ?? 'unknown reason'}`, detail: null };
      if (job.answeredAt === null) return { ...base, tone: 'failed', text: 'phone did not answer', detail: job.error };
      return { ...base, tone: 'failed', text: 'phone did not update', detail: job.error };
    default:
      // queued, sent, answered: the phone has still to fetch; an error so far (no answer yet, a refusal) is said.
      return { ...base, tone: 'waiting', text: 'waiting for phone', detail: job.error };
  }
}

/**
 * How someone logged in, in words: the session's method, and for the API the token's name as the audit log
 * recorded its actor (`api:<name>`; the configured token is plain `api`).
 */
export function howInWords(method: string, actor?: string | null): string {
  switch (method) {
    case 'feature_code':
      return 'feature code';
    case 'phone_screen':
      return 'phone screen';
    case 'admin':
      return 'console';
    case 'auto':
      return 'automatic';
    case 'api':
      return actor?.startsWith('api:') ? `API: ${actor.slice(4)}` : 'API';
    default:
      return method;
  }
}
