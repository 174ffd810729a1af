import pg from 'pg';
import { type ChangeFeed, type ChangeNotice, createChangeFeed } from '../db/changeFeed.ts';
import type { OpenDatabase } from '../db/client.ts';
import { type Leadership, SCHEDULED_WORK_LOCK_KEY, startLeadership } from '../db/leader.ts';
import type { ProfileChange } from '../domain/deps.ts';
import { findDeviceById } from '../domain/lookup.ts';
import { latestRevisions } from '../domain/templates.ts';
import { forgetTenantSettings } from '../domain/tenants.ts';
import type { Logger } from '../log.ts';
import type { Provisioning } from '../provisioning/assemble.ts';
import type { TemplateStore } from '../provisioning/templates.ts';
import type { Resync } from './resync.ts';

/**
 * Several hotprov nodes on one PostgreSQL database (issue 16). Each node keeps what it rendered, its tenants' settings
 * and template texts in memory; what one node changes, it tells the others over the change feed (LISTEN/NOTIFY), and
 * they drop what it made stale before a phone can fetch it from them. A node whose listening connection dropped drops
 * everything when it is back. A phone that fetched its new profile from another node than the one that sent its
 * NOTIFY is told to that node ("served"), which confirms the re-sync. Scheduled work runs on one node at a time, the
 * holder of an advisory lock. With SQLite there is one process: all of this is nothing.
 */
export interface Cluster {
  /** Tells the other nodes that these devices' files changed (after the transaction committed). */
  devicesChanged(change: ProfileChange): Promise<void>;
  /** Tells the other nodes that a tenant's settings changed (or it was made or deleted): they drop what they kept of it. */
  tenantChanged(tenantId: number): Promise<void>;
  /** A phone fetched a revision of its main file that was news: the node waiting for it may be another. */
  served(deviceId: number, etag: string): void;
  /** Runs `work` on one node at a time: started when this node leads, stopped when it no longer does. */
  lead(work: { start(): void; stop(): void }): Promise<void>;
  close(): Promise<void>;
}

export interface ClusterDeps {
  readonly database: OpenDatabase;
  /** The PostgreSQL URL, for the connections of the feed and the lock. */
  readonly url: string;
  readonly log: Logger;
  readonly provisioning: Provisioning;
  readonly resync: () => Resync;
  readonly templates: TemplateStore;
  /** The tenants' schedules were read again (a tenant's automatic logout may have changed). */
  readonly reschedule: () => void;
}

/** How often a node that does not run the scheduled work asks for it. */
const LEADERSHIP_RETRY_MS = 5000;

/** One node alone (SQLite): nobody to tell, and it always runs the scheduled work. */
const ALONE: Cluster = {
  devicesChanged: async () => {},
  tenantChanged: async () => {},
  served: () => {},
  lead: async (work) => work.start(),
  close: async () => {},
};

export async function joinCluster(deps: ClusterDeps): Promise<Cluster> {
  const { database, log, provisioning } = deps;
  if (database.dialect === 'sqlite') return ALONE;
  const { db } = database;
  // Texts of templates an admin saved on another node: read again for that tenant. While they are applied, the
  // store's own change events must not be told back to the others.
  let applyingRemote = false;
  const reloadTemplates = async (tenantId: number) => {
    applyingRemote = true;
    try {
      for (const revision of await latestRevisions(db)) {
        if (revision.tenantId !== tenantId) continue;
        try {
          deps.templates.setOverride(revision.tenantId, revision.vendor, revision.name, revision.source);
        } catch (err) {
          log.error('provisioning', 'a saved template does not compile; phones get the shipped file', { tenant: tenantId, error: (err as Error).message });
        }
      }
    } finally {
      applyingRemote = false;
    }
  };
  const dropEverything = () => {
    forgetTenantSettings(db);
    provisioning.invalidateAll();
    deps.reschedule();
  };
  const onNotice = async (notice: ChangeNotice) => {
    switch (notice.kind) {
      case 'devices':
        provisioning.invalidate(notice.deviceIds);
        return;
      case 'deviceRows':
        provisioning.forgetDeviceRows(notice.deviceIds);
        return;
      case 'tenant':
        forgetTenantSettings(db);
        provisioning.invalidateTenant(notice.tenantId);
        deps.reschedule();
        await reloadTemplates(notice.tenantId);
        return;
      case 'served': {
        const device = await findDeviceById(db, notice.deviceId);
        if (device !== undefined) await deps.resync().deviceServed(device, notice.etag);
        return;
      }
      case 'all':
        dropEverything();
        return;
    }
  };
  const feed: ChangeFeed = await createChangeFeed({
    pool: database.pool,
    listenOn: { connectionString: deps.url },
    log,
    onNotice,
    onLost: () => {
      // Until it listens again, a change elsewhere goes unheard: no copy of a device is trusted meanwhile.
      provisioning.trustDeviceCopies(false);
      dropEverything();
    },
    onGap: () => {
      log.warn('database', 'the change feed was interrupted: every rendered file is dropped');
      dropEverything();
      provisioning.trustDeviceCopies(true);
    },
  });
  const publish = async (notice: ChangeNotice | readonly ChangeNotice[]) => {
    try {
      await feed.publish(notice);
    } catch (err) {
      // The others keep stale files until their feed reconnects and drops everything: said loudly.
      log.error('database', 'could not tell the other nodes about a change', { error: (err as Error).message });
    }
  };
  // Fetches are many in a boot storm: those of one turn of the event loop leave in one statement.
  let servedThisTurn: ChangeNotice[] = [];
  const publishServed = () => {
    const notices = servedThisTurn;
    servedThisTurn = [];
    void publish(notices);
  };
  deps.templates.onChange((tenantId) => {
    if (!applyingRemote) void publish({ kind: 'tenant', tenantId });
  });
  let leadership: Leadership | null = null;
  return {
    devicesChanged: (change) => publish({ kind: 'devices', deviceIds: change.deviceIds }),
    tenantChanged: (tenantId) => publish({ kind: 'tenant', tenantId }),
    served(deviceId, etag) {
      if (servedThisTurn.length === 0) setImmediate(publishServed);
      servedThisTurn.push({ kind: 'served', deviceId, etag });
    },
    async lead(work) {
      leadership = await startLeadership({
        connect: async () => {
          const client = new pg.Client({ connectionString: deps.url, keepAlive: true, application_name: 'hotprov leader' });
          await client.connect();
          return client;
        },
        key: SCHEDULED_WORK_LOCK_KEY,
        retryMs: LEADERSHIP_RETRY_MS,
        log,
        onGain: () => {
          log.info('lifecycle', 'this node runs the scheduled work');
          work.start();
        },
        onLose: () => {
          log.info('lifecycle', 'this node no longer runs the scheduled work');
          work.stop();
        },
      });
    },
    async close() {
      await leadership?.stop();
      await feed.close();
    },
  };
}
