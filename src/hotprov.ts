import type Koa from 'koa';
import type { Config } from './config.ts';
import { type OpenDb, openDb } from './db/client.ts';
import type { DomainDeps, ProfileChange } from './domain/context.ts';
import { getDeviceById } from './domain/lookup.ts';
import { ensureDefaultTenant, getTenant, tenantSettings } from './domain/tenants.ts';
import { createApp } from './http/app.ts';
import type { AppDeps } from './http/deps.ts';
import type { Logger } from './log.ts';
import { createProvisioning, type Provisioning } from './provisioning/service.ts';
import { createTemplateStore, type TemplateStore } from './provisioning/templates.ts';
import { createModelCatalog } from './vendors/catalog.ts';
import { loadVendorAdapters } from './vendors/index.ts';
import type { VendorAdapter } from './vendors/types.ts';

export interface HotprovOptions {
  readonly config: Config;
  readonly adminToken: string;
  readonly log: Logger;
  readonly now?: () => Date;
  readonly templatesDir?: string;
  /** Also told about every profile change (tests use it to see what would be re-synced). */
  readonly onProfilesChanged?: (change: ProfileChange) => void;
}

export interface Hotprov {
  readonly app: Koa;
  readonly deps: AppDeps;
  readonly database: OpenDb;
  readonly adapters: readonly VendorAdapter[];
  readonly templates: TemplateStore;
  readonly provisioning: Provisioning;
  close(): void;
}

/**
 * The composition root: opens and migrates the database, loads vendor profiles and templates (failing fast
 * on a broken one), and wires the domain, provisioning and HTTP layers. Nothing listens yet.
 */
export function createHotprov(options: HotprovOptions): Hotprov {
  const { config, log } = options;
  const now = options.now ?? (() => new Date());
  const adapters = loadVendorAdapters();
  const templates = createTemplateStore(options.templatesDir);
  const database = openDb(config.dbPath);
  const { db } = database;
  const defaultTenant = ensureDefaultTenant(db);

  const domain: DomainDeps = {
    db,
    now,
    catalog: createModelCatalog(adapters.map((a) => a.profile)),
    profilesChanged(change) {
      for (const id of change.deviceIds) {
        const device = getDeviceById(db, id);
        const summary = device === undefined ? null : provisioning.summary(device);
        log.info('provisioning', 'profile changed', { device: device?.idleAccount ?? id, profile: summary?.mode ?? 'deleted', reason: change.reason });
        for (const warning of summary?.warnings ?? []) log.warn('provisioning', warning, { device: device?.idleAccount });
      }
      options.onProfilesChanged?.(change);
    },
  };
  const provisioning = createProvisioning({ db, config, adapters, templates, log, now });
  const deps: AppDeps = {
    config,
    domain,
    provisioning,
    log,
    adminToken: options.adminToken,
    tenant: () => tenantSettings(getTenant(db, defaultTenant.id) ?? defaultTenant, config.registrar),
  };
  return { app: createApp(deps), deps, database, adapters, templates, provisioning, close: () => database.close() };
}
