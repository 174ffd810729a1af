import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DeviceRow } from '../../src/db/schema.ts';
import { listDevices } from '../../src/domain/devices.ts';
import { applyDeviceImport, applyUserImport, planDeviceImport, planUserImport } from '../../src/domain/imports.ts';
import { listUsers } from '../../src/domain/users.ts';
import { assertAppError } from '../helpers/assertions.ts';
import { ACTOR, buildDevice, buildUser, createDomain, type DomainFixture } from '../helpers/domain.ts';

/** CSV imports as domain commands: a plan names every row's problem; only a clean plan is applied, all at once. */
const Imports = suite<{ f: DomainFixture; enrolled: string[] }>('domain/imports');
Imports.before.each(async (ctx) => {
  const f = await createDomain();
  ctx.enrolled = [];
  // The redirect registration listens here: it must hear only of devices that exist.
  ctx.f = { ...f, deps: { ...f.deps, deviceLifecycle: (e: { kind: string; device: DeviceRow }) => ctx.enrolled.push(`${e.kind} ${e.device.mac}`) } };
});
Imports.after.each(({ f }) => f.close());

const SHEET = [
  ['mac', 'vendor', 'model', 'label', 'location', 'hotdesk'],
  ['00:04:13:00:00:01', 'snom', 'D785', 'Desk A', 'Floor 1', 'yes'],
  ['00:04:f2:00:00:01', 'polycom', 'VVX450', 'Desk C', '', 'no'],
];

Imports('a device sheet: every row checked, each problem named, nothing written while one is wrong', async ({ f }) => {
  await buildDevice(f, { mac: '001565aabbcc' });
  const plan = await planDeviceImport(f.deps, f.tenantId, [
    ...SHEET,
    ['not-a-mac', 'snom', 'D785'],
    ['00:04:f2:00:00:02', 'polycom', 'VVX999'],
    ['001565aabbcc', 'yealink', 'T46U'],
    ['00:04:13:00:00:01', 'snom', 'D785'],
    ['00:04:13:00:00:03', 'snom', 'D785', 'Desk\nB'],
    ['00:04:13:00:00:04', 'snom', 'D785', '', '', 'maybe'],
  ]);
  assert.equal(
    plan.rows.map((r) => [r.line, r.problem]),
    [
      [2, null],
      [3, null],
      [4, '“not-a-mac” is not a MAC address'],
      [5, 'unknown vendor/model “polycom VVX999”'],
      [6, 'this MAC is already enrolled'],
      [7, 'this MAC is in the file twice'],
      [8, 'label: must not contain control characters such as a line break'],
      [9, 'hotdesk must be yes or no, not “maybe”'],
    ],
  );
  assert.equal([plan.problems, plan.ready], [6, false]);
  await assertAppError(() => applyDeviceImport(f.deps, f.tenantId, ACTOR, plan), { status: 409, code: 'conflict' });
  assert.is((await listDevices(f.deps.db, f.tenantId)).length, 1);
});

Imports('a clean device sheet is enrolled in one go, and the enrolments are told once all of them committed', async ({ f, enrolled }) => {
  const plan = await planDeviceImport(f.deps, f.tenantId, SHEET);
  assert.is(plan.ready, true);
  assert.is(await applyDeviceImport(f.deps, f.tenantId, ACTOR, plan), 2);
  assert.equal(
    (await listDevices(f.deps.db, f.tenantId)).map((d) => [d.idleAccount, d.vendor, d.hotdesk]),
    [
      ['HD0001', 'snom', true],
      ['HD0002', 'polycom', false],
    ],
  );
  assert.equal(enrolled, ['enrolled 000413000001', 'enrolled 0004f2000001']);
});

Imports('a plan overtaken by an enrolment writes nothing, and tells of no enrolment', async ({ f, enrolled }) => {
  const plan = await planDeviceImport(f.deps, f.tenantId, SHEET);
  await buildDevice(f, { mac: '0004f2000001', vendor: 'polycom', model: 'VVX450' });
  enrolled.length = 0;
  await assertAppError(() => applyDeviceImport(f.deps, f.tenantId, ACTOR, plan), { status: 409, code: 'conflict', message: /0004f2000001/ });
  assert.is((await listDevices(f.deps.db, f.tenantId)).length, 1, 'the first row was taken back');
  assert.equal(enrolled, []);
});

Imports('a user sheet: checked on the API schema and the PIN policy, PINs masked, then created all at once', async ({ f }) => {
  await buildUser(f, '101');
  const header = ['extension', 'display_name', 'sip_password', 'hotdesk', 'pin'];
  const refused = await planUserImport(f.deps, f.tenantId, 4, [
    header,
    ['201', 'Bea', 'pw-201', 'yes', '1234'],
    ['101', 'Dup', 'pw', '', ''],
    ['2x', 'Cas', 'pw', '', ''],
  ]);
  assert.equal(
    refused.rows.map((r) => [r.problem, r.cells[4]]),
    [
      ['pin: a run of consecutive digits is too easy to guess', '****'],
      ['this extension exists already', ''],
      ['extension: must be 1 to 15 digits', ''],
    ],
  );
  const plan = await planUserImport(f.deps, f.tenantId, 4, [header, ['201', 'Bea', 'pw-201', 'yes', '5820'], ['202', 'Cas', 'pw-202', 'no', '']]);
  assert.is(await applyUserImport(f.deps, f.tenantId, 4, ACTOR, plan), 2);
  assert.equal(
    (await listUsers(f.deps.db, f.tenantId)).map((u) => [u.extension, u.hotdesk, u.pinHash !== null]),
    [
      ['101', true, true],
      ['201', true, true],
      ['202', false, false],
    ],
  );
});

Imports.run();
