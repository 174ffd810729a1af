import type { Config } from '../config.ts';
import type { DomainDeps } from '../domain/deps.ts';
import type { TenantSettings } from '../domain/tenants.ts';
import type { Provisioning } from '../provisioning/assemble.ts';
import type { TemplateStore } from '../provisioning/templates.ts';
import type { Resync } from '../sync/resync.ts';
import type { VendorAdapter } from '../vendors/types.ts';

/** What the console is built from: the HTTP layer's own dependencies fit, without the console importing them. */
export interface ConsoleDeps {
  /** webhooks: which addresses an endpoint may be at (the same policy the API checks). */
  readonly config: Pick<Config, 'registrar' | 'baseUrl' | 'phoneBaseUrl' | 'https' | 'webhooks'>;
  readonly domain: DomainDeps;
  /** What a device's page shows: the files it would get, and a summary of its profile. */
  readonly provisioning: Pick<Provisioning, 'summary' | 'renderDeviceFiles'>;
  /** The re-sync of a device: its latest job; a reboot or a check-sync sent again because an admin asked. */
  readonly resync: Pick<Resync, 'latest' | 'reboot' | 'resend'>;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
  /** Called after the tenant's settings changed (the automatic-logout schedule may have). */
  readonly onTenantChanged: (tenantId: number) => Promise<void>;
  /** The tenant the console acts on, with its settings as they are now. */
  readonly tenant: () => Promise<TenantSettings>;
}
