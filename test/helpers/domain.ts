import { openDatabase } from '../../src/db/client.ts';
import type { DomainDeps, ProfileChange } from '../../src/domain/deps.ts';
import { enrolDevice } from '../../src/domain/devices.ts';
import { ensureDefaultTenant } from '../../src/domain/tenants.ts';
import { createUser } from '../../src/domain/users.ts';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';
import { createModelCatalog } from '../../src/vendors/catalog.ts';
import { TEST_ENGINE, throwawayDatabase } from './testDatabase.ts';

export const ACTOR = { name: 'test' };

export interface DomainFixture {
  readonly deps: DomainDeps;
  readonly tenantId: number;
  readonly changes: ProfileChange[];
  /** A MAC no device of this fixture has yet. */
  nextMac(): string;
  close(): void;
}

const catalog = createModelCatalog(loadVendorAdapters().map((a) => a.profile));

/**
 * Domain dependencies over a fresh database with the real migrations and vendor catalogue: in memory, or a
 * PostgreSQL database of its own when the suite runs on PostgreSQL (helpers/testDatabase.ts).
 */
export async function createDomain(now: () => Date = () => new Date(), engine: 'sqlite' | 'postgres' = TEST_ENGINE): Promise<DomainFixture> {
  const throwaway = await throwawayDatabase(undefined, engine);
  const open = await openDatabase({ dbPath: throwaway.location, dbEngine: engine });
  const { db } = open;
  // Closing is not awaited by the tests: the database is dropped once its connections are gone.
  const close = () => {
    void (async () => {
      await open.close();
      await throwaway.drop();
    })().catch(() => {});
  };
  const changes: ProfileChange[] = [];
  const tenantId = (await ensureDefaultTenant(db)).id;
  let enrolled = 0;
  const profilesChanged = async (change: ProfileChange) => {
    changes.push(change);
    return [];
  };
  return {
    deps: { db, now, catalog, profilesChanged },
    tenantId,
    changes,
    nextMac: () => `001565${(++enrolled).toString(16).padStart(6, '0')}`,
    close,
  };
}

/** Enrols a Yealink T46U (or what is asked) with a fresh MAC. */
export async function buildDevice(f: DomainFixture, overrides: Partial<Parameters<typeof enrolDevice>[3]> = {}) {
  return enrolDevice(f.deps, f.tenantId, ACTOR, {
    mac: f.nextMac(),
    vendor: 'yealink',
    model: 'T46U',
    ...overrides,
  });
}

/** Creates a hot-desk user with PIN 4826 unless told otherwise. */
export async function buildUser(f: DomainFixture, extension: string, overrides: Partial<Parameters<typeof createUser>[4]> = {}) {
  return createUser(f.deps, f.tenantId, 4, ACTOR, {
    extension,
    displayName: `User ${extension}`,
    sipPassword: `secret-${extension}`,
    pin: '4826',
    ...overrides,
  });
}
