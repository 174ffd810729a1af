import type { Db } from '../db/client.ts';
import type { ProfileChange, ProfileOutcome } from '../domain/deps.ts';
import { findDeviceById } from '../domain/lookup.ts';
import type { Logger } from '../log.ts';
import type { Provisioning, RefreshedProfile } from '../provisioning/assemble.ts';
import type { Resync } from './resync.ts';

export interface ProfileChangeDeps {
  readonly db: Db;
  readonly log: Logger;
  readonly provisioning: Pick<Provisioning, 'flush' | 'invalidate' | 'refreshDevice'>;
  readonly resync: Pick<Resync, 'deviceChanged'>;
}

/**
 * What a change means for each device it touched, worked out once: the device is read once, its new profile built
 * and rendered once (into the render cache), and that one result gives the log line, the revision the re-sync's
 * NOTIFY makes the phone fetch, and the answer (mode, warnings) to whoever made the change.
 */
export function createProfileChanges(deps: ProfileChangeDeps): (change: ProfileChange) => Promise<ProfileOutcome[]> {
  return async (change) => {
    await deps.provisioning.flush(); // what this turn's fetches recorded: where each phone is, what it holds
    const outcomes: ProfileOutcome[] = [];
    for (const id of change.deviceIds) {
      const device = await findDeviceById(deps.db, id);
      if (device === undefined) {
        deps.provisioning.invalidate([id]);
        deps.log.info('provisioning', 'profile changed', { device: id, profile: 'deleted', reason: change.reason });
        outcomes.push({ deviceId: id, mode: 'deleted', warnings: [] });
        continue;
      }
      let refreshed: RefreshedProfile;
      try {
        refreshed = await deps.provisioning.refreshDevice(device);
      } catch (err) {
        // Nothing cached: the phone's fetch tries again, and answers what went wrong.
        deps.provisioning.invalidate([id]);
        deps.log.error('provisioning', 'cannot render the new profile', { device: device.idleAccount, reason: change.reason, error: (err as Error).message });
        continue;
      }
      deps.log.info('provisioning', 'profile changed', { device: device.idleAccount, profile: refreshed.mode, reason: change.reason });
      for (const warning of refreshed.warnings) deps.log.warn('provisioning', warning, { device: device.idleAccount });
      await deps.resync.deviceChanged(device, refreshed, change.reason);
      outcomes.push({ deviceId: id, mode: refreshed.mode, warnings: refreshed.warnings });
    }
    return outcomes;
  };
}
