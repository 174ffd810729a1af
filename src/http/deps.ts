import type { Config } from '../config.ts';
import type { DomainDeps } from '../domain/deps.ts';
import type { TenantSettings } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Provisioning } from '../provisioning/assemble.ts';
import type { TemplateStore } from '../provisioning/templates.ts';
import type { Redirects } from '../redirect/registrations.ts';
import type { Resync } from '../sync/resync.ts';
import type { VendorAdapter } from '../vendors/types.ts';
import type { AccessLog } from './accessLog.ts';
import type { Readiness } from './health.ts';

/** What the HTTP layer is built from; main.ts wires the real ones, tests their own. */
export interface AppDeps {
  readonly config: Config;
  readonly domain: DomainDeps;
  readonly provisioning: Provisioning;
  readonly resync: Resync;
  readonly redirects: Redirects;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
  readonly log: Logger;
  readonly adminToken: string;
  /** Called after the tenant's settings changed (the automatic-logout schedule may have). */
  readonly onTenantChanged: (tenantId: number) => Promise<void>;
  /** The default tenant, with its settings as they are now: where the provider acts at plain `/api/v1/…`. */
  readonly tenant: () => Promise<TenantSettings>;
  /** A tenant's settings as they are now (a phone's: its device's tenantId); undefined for no such tenant. */
  readonly tenantSettingsOf: (tenantId: number) => Promise<TenantSettings | undefined>;
  /** Whether this node should get traffic (`/readyz`): its probes, and whether it is shutting down. */
  readonly readiness: Readiness;
  /** What `/metrics` answers; without it (some tests' apps) there is no such path. */
  readonly metrics?: Metrics;
  /** The access log (request ids, a line per API and console request, the phones summed up); the app makes its own without. */
  readonly accessLog?: AccessLog;
}
