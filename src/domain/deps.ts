import type { Db } from '../db/client.ts';
import type { DeviceRow } from '../db/schema.ts';

/** Why the rendered profile of some devices may have changed. */
export interface ProfileChange {
  readonly deviceIds: readonly number[];
  readonly reason: string;
}

/**
 * What a device gets after a change, as provisioning built and rendered it once (the same render fills the cache and
 * gives the re-sync its ETag): for the log and for the answer to whoever made the change.
 */
export interface ProfileOutcome {
  readonly deviceId: number;
  /** The profile the device gets now; `deleted` when the device is gone. */
  readonly mode: 'idle' | 'user' | 'retired' | 'deleted';
  /** Keys that do not fit, a MAC that does not look like the vendor's, … */
  readonly warnings: readonly string[];
}

/** Resolves a vendor and model as typed by a person to the catalogue's canonical ids. */
export interface ModelCatalog {
  findModel(vendor: string, model: string): { readonly vendor: string; readonly model: string } | null;
  describe(): string;
}

/** What every domain function gets: no globals, so tests pass their own. */
export interface DomainDeps {
  readonly db: Db;
  readonly now: () => Date;
  readonly catalog: ModelCatalog;
  /**
   * Told, after the transaction committed, about every device whose profile may have changed; answers what each
   * of them gets now (in the order of `deviceIds`; a device that cannot be rendered is left out).
   */
  readonly profilesChanged: (change: ProfileChange) => Promise<readonly ProfileOutcome[]>;
  /** Told, after the transaction committed, that a device was enrolled, deleted or given new credentials (its redirect follows). */
  readonly deviceLifecycle?: (event: { readonly kind: 'enrolled' | 'deleted' | 'credentials_changed'; readonly device: DeviceRow }) => void;
  /** Told what each login, switch and logout came to (metrics count them); never who, never a PIN. */
  readonly onHotdesk?: (event: HotdeskEvent) => void;
  /** Checks a PIN or password against its hash; credentials.verifySecret unless a test counts the checks. */
  readonly verifySecret?: (secret: string, hash: string) => Promise<boolean>;
}

/** Who asked for a change, as written into the audit log. */
export interface Actor {
  readonly name: string;
}

/** What a login, switch or logout came to, for counting. */
export interface HotdeskEvent {
  /** switch: a login that replaced someone at the desk. */
  readonly action: 'login' | 'switch' | 'logout';
  readonly method: LoginMethod;
  /** logged_in, switched, already, logged_out, idle, or the refusal (wrong_pin, locked, …). */
  readonly result: string;
  /** This wrong PIN locked the user or the phone. */
  readonly lockedOut: boolean;
}

/** How a hot-desk session started or ended; stored and audited verbatim. */
export type LoginMethod = 'api' | 'admin' | 'feature_code' | 'phone_screen' | 'auto';
