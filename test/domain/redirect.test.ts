import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findDeviceById } from '../../src/domain/lookup.ts';
import { findDueRedirects, findUnregisteredDevices, listRedirectStates, rebaseRedirects, recordRedirectResult } from '../../src/domain/redirect.ts';
import { buildDevice, createDomain, type DomainFixture } from '../helpers/domain.ts';

/** Redirect state, written only by domain/redirect.ts: what the registrations of redirect/ rely on. */
interface RedirectContext {
  f: DomainFixture;
  /** The domain's clock; a test moves `clock.at`. */
  clock: { at: Date };
}

const Redirect = suite<RedirectContext>('domain/redirect', {} as RedirectContext);
Redirect.before.each(async (ctx) => {
  ctx.clock = { at: new Date('2026-03-02T09:00:00Z') };
  ctx.f = await createDomain(() => ctx.clock.at);
});
Redirect.after.each(({ f }) => f.close());

const reread = async (f: DomainFixture, id: number) => {
  const row = await findDeviceById(f.deps.db, id);
  if (row === undefined) throw new Error(`device ${id} vanished`);
  return row;
};

Redirect('a failure waits a minute, then twice as long each time, at most an hour; success resets', async ({ f, clock }) => {
  const device = await buildDevice(f);
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) {
    await recordRedirectResult(f.deps, await reread(f, device.id), { status: 'error', message: 'HTTP 500' });
    const row = await reread(f, device.id);
    waits.push(((row.redirectNextAttemptAt?.getTime() ?? 0) - clock.at.getTime()) / 60_000);
  }
  assert.equal(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
  assert.equal(await findDueRedirects(f.deps), [], 'not due before its time');
  clock.at = new Date(clock.at.getTime() + 60 * 60_000);
  assert.equal(
    (await findDueRedirects(f.deps)).map((d) => d.id),
    [device.id],
  );

  await recordRedirectResult(f.deps, await reread(f, device.id), { status: 'registered', message: 'ok' });
  const row = await reread(f, device.id);
  assert.equal([row.redirectStatus, row.redirectAttempts, row.redirectNextAttemptAt], ['registered', 0, null]);
  assert.equal(await findDueRedirects(f.deps), []);
});

Redirect('a MAC another account owns is neither due nor left to register: that needs a person', async ({ f }) => {
  const owned = await buildDevice(f);
  const fresh = await buildDevice(f);
  await recordRedirectResult(f.deps, owned, { status: 'registered_elsewhere', message: 'Snom SRAPS: HTTP 403' });
  assert.equal(await findDueRedirects(f.deps), []);
  assert.equal(
    (await findUnregisteredDevices(f.deps.db)).map((d) => d.id),
    [fresh.id],
  );
  assert.equal(
    (await listRedirectStates(f.deps.db)).map((d) => [d.mac, d.redirectStatus, d.redirectMessage]),
    [
      [owned.mac, 'registered_elsewhere', 'Snom SRAPS: HTTP 403'],
      [fresh.mac, 'none', null],
    ],
  );
});

Redirect('a new base URL sends registered phones back to pending; the first start and the same URL change nothing', async ({ f }) => {
  const registered = await buildDevice(f);
  const failing = await buildDevice(f);
  assert.is(await rebaseRedirects(f.deps.db, () => 'http://prov.example.test:8080'), 0, 'nothing was pointed anywhere yet');
  await recordRedirectResult(f.deps, registered, { status: 'registered', message: 'ok' });
  await recordRedirectResult(f.deps, failing, { status: 'error', message: 'timed out' });
  assert.is(await rebaseRedirects(f.deps.db, () => 'http://prov.example.test:8080'), 0);
  assert.is((await reread(f, registered.id)).redirectStatus, 'registered');

  assert.is(await rebaseRedirects(f.deps.db, () => 'https://hotprov.example.test'), 1);
  assert.equal([(await reread(f, registered.id)).redirectStatus, (await reread(f, failing.id)).redirectStatus], ['pending', 'error']);
  assert.equal(
    (await findDueRedirects(f.deps)).map((d) => d.id),
    [registered.id],
    'the retry job registers it again at once',
  );
});

Redirect.run();
