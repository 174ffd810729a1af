import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { PhoneDevice } from '../../src/domain/lookup.ts';
import type { Mac } from '../../src/domain/mac.ts';
import { createDeviceCopies } from '../../src/provisioning/deviceCopies.ts';
import { createRenderCache, etagOf } from '../../src/provisioning/renderCache.ts';
import type { RenderedText } from '../../src/provisioning/skeletons.ts';

/**
 * A node's copies of its devices (provisioning/deviceCopies.ts) and the render cache's tickets: what a read found is
 * kept only when nothing forgot it while the read was under way, a copy is only ever of an active device, and a node
 * whose change feed is not listening keeps and uses no copy.
 */
const Copies = suite('provisioning/device copies');

const MAC = '001565000001' as Mac;

/** The database as the copies read it: a row per MAC that a test changes, each read held until released. */
function fakeDatabase(initial: Partial<PhoneDevice> = {}) {
  let row: PhoneDevice | undefined = {
    id: 1,
    mac: MAC,
    access: 'active',
    retiredAt: null,
    provPassword: 'first',
    lastSeenAt: null,
    servedEtag: null,
    ...initial,
  } as PhoneDevice;
  const held: (() => void)[] = [];
  let holding = false;
  return {
    reads: 0,
    set(changes: Partial<PhoneDevice> | undefined) {
      row = changes === undefined ? undefined : ({ ...row, ...changes } as PhoneDevice);
    },
    /** From now on each read waits for release(); it reads the row as it is when released. */
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const go of held.splice(0)) go();
    },
    async read(_mac: Mac): Promise<PhoneDevice | undefined> {
      this.reads++;
      if (holding) await new Promise<void>((resolve) => held.push(resolve));
      return row;
    },
  };
}

Copies('a device read once is answered from the copy after, until a notice forgets it', async () => {
  const db = fakeDatabase();
  const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: true });
  assert.equal((await copies.find(MAC)).copy, false);
  const again = await copies.find(MAC);
  assert.equal([again.copy, again.device?.provPassword, db.reads], [true, 'first', 1]);
  db.set({ provPassword: 'second' });
  copies.forget([1]);
  const after = await copies.find(MAC);
  assert.equal([after.copy, after.device?.provPassword], [false, 'second']);
});

Copies('a read under way when its device is forgotten answers, but keeps nothing: the next fetch reads again', async () => {
  const db = fakeDatabase();
  const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: true });
  db.hold();
  const reading = copies.find(MAC);
  // The read saw the old password; the change commits, and its notice arrives before the read's answer.
  copies.forget([1]);
  db.release();
  assert.is((await reading).device?.provPassword, 'first');
  db.set({ provPassword: 'second' });
  const next = await copies.find(MAC);
  assert.equal([next.copy, next.device?.provPassword], [false, 'second'], 'not answered from a stale copy');
});

Copies('only active devices in service are copied; an unknown MAC is read each time', async () => {
  for (const state of [{ access: 'claimed' as const }, { access: 'unclaimed' as const }, { retiredAt: new Date() }]) {
    const db = fakeDatabase(state);
    const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: true });
    await copies.find(MAC);
    assert.is((await copies.find(MAC)).copy, false, JSON.stringify(state));
  }
  const db = fakeDatabase();
  db.set(undefined);
  const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: true });
  await copies.find(MAC);
  await copies.find(MAC);
  assert.is(db.reads, 2);
});

Copies('without a listening change feed nothing is copied or used; listening again starts empty', async () => {
  const db = fakeDatabase();
  const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: true });
  await copies.find(MAC);
  copies.trust(false);
  assert.is((await copies.find(MAC)).copy, false);
  assert.is((await copies.find(MAC)).copy, false);
  assert.is(copies.size, 0);
  copies.trust(true);
  assert.is((await copies.find(MAC)).copy, false);
  assert.is((await copies.find(MAC)).copy, true);
});

Copies('on SQLite (keep: false) every find reads the database', async () => {
  const db = fakeDatabase();
  const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: false });
  copies.trust(true);
  for (let i = 0; i < 3; i++) assert.is((await copies.find(MAC)).copy, false);
  assert.is(db.reads, 3);
});

Copies('what this node records follows into the copy, so the next poll does not record it again; a notice still forgets it', async () => {
  const db = fakeDatabase();
  const copies = createDeviceCopies({ read: (mac) => db.read(mac), keep: true });
  await copies.find(MAC);
  const at = new Date('2026-12-02T10:00:00Z');
  copies.recorded(1, { lastSeenAt: at, servedEtag: '"v2"' });
  const copy = await copies.find(MAC);
  assert.equal([copy.copy, copy.device?.lastSeenAt, copy.device?.servedEtag], [true, at, '"v2"']);
  copies.forget([1]);
  assert.is((await copies.find(MAC)).copy, false, 'the id still names the copy after it was updated');
});

const RenderTickets = suite('provisioning/render cache tickets');

const fileOf = (text: string): RenderedText => ({ etag: etagOf(text), text: () => text, bytes: () => Buffer.from(text), cost: text.length });

RenderTickets('a render that began before its device was forgotten is answered but not kept', () => {
  const cache = createRenderCache();
  const account = { enabled: true, displayName: 'HD0001', userName: 'HD0001', authName: 'HD0001', password: 'x', label: 'HD0001' };
  const ticket = cache.ticket();
  cache.forget(7);
  const answered = cache.keep(ticket, 7, 1, 'main', 'text/plain', fileOf('account.1.user_name = HD0001\n'), account);
  assert.is(answered.answer.bytes().toString(), 'account.1.user_name = HD0001\n');
  assert.is(cache.file(7, 'main'), undefined);
  assert.is(cache.currentEtag(7, 'main'), undefined);
  const fresh = cache.ticket();
  cache.keep(fresh, 7, 1, 'main', 'text/plain', fileOf('account.1.user_name = 101\n'), account);
  assert.ok(cache.file(7, 'main'));
  // Another device's forget does not stop it; a tenant's or everything's does.
  const before = cache.ticket();
  cache.forget(8);
  cache.keep(before, 7, 1, 'main', 'text/plain', fileOf('a\n'), account);
  assert.is(cache.file(7, 'main')?.answer.bytes().toString(), 'a\n');
  const beforeTenant = cache.ticket();
  cache.forgetTenant(2);
  cache.keep(beforeTenant, 9, 2, 'main', 'text/plain', fileOf('b\n'), account);
  assert.is(cache.file(9, 'main'), undefined);
});

Copies.run();
RenderTickets.run();
