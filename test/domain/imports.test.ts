import { count } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readSheet, toCsv } from '../../src/console/csv.ts';
import { tablesOf } from '../../src/db/client.ts';
import type { DeviceRow } from '../../src/db/schema.ts';
import { enrolDevice, listDevices } from '../../src/domain/devices.ts';
import { login } from '../../src/domain/hotdesk.ts';
import {
  applyDeviceImport,
  applyUserImport,
  deviceSheet,
  formatKeysCell,
  parseKeysCell,
  planDeviceImport,
  planUserImport,
  type Sheet,
  userSheet,
} from '../../src/domain/imports.ts';
import { createTenant } from '../../src/domain/tenants.ts';
import { keysOf, listUsers } from '../../src/domain/users.ts';
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

const countAudit = async (f: DomainFixture) => {
  const { auditEvents } = tablesOf(f.deps.db);
  return (await f.deps.db.select({ n: count() }).from(auditEvents))[0]?.n ?? 0;
};

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
    ['001565aabbcc', 'snom', 'D785'],
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
      [6, 'this phone is enrolled as a yealink; delete it to enrol it as a snom'],
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
  assert.equal(await applyDeviceImport(f.deps, f.tenantId, ACTOR, plan), { created: 2, updated: 0, unchanged: 0, skipped: 0 });
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
    ['201', 'Dup', 'pw', '', ''],
    ['2x', 'Cas', 'pw', '', ''],
  ]);
  assert.equal(
    refused.rows.map((r) => [r.problem, r.cells[4]]),
    [
      ['pin: a run of consecutive digits is too easy to guess', '****'],
      ['this extension is in the file twice', ''],
      ['extension: must be 1 to 15 digits', ''],
    ],
  );
  const plan = await planUserImport(f.deps, f.tenantId, 4, [header, ['201', 'Bea', 'pw-201', 'yes', '5820'], ['202', 'Cas', 'pw-202', 'no', '']]);
  assert.equal(await applyUserImport(f.deps, f.tenantId, 4, ACTOR, plan), { created: 2, updated: 0, unchanged: 0, skipped: 0 });
  assert.equal(
    (await listUsers(f.deps.db, f.tenantId)).map((u) => [u.extension, u.hotdesk, u.pinHash !== null]),
    [
      ['101', true, true],
      ['201', true, true],
      ['202', false, false],
    ],
  );
});

Imports('a device sheet changes the devices it names by MAC and says which fields; another tenant’s MAC is refused', async ({ f }) => {
  const desk = await buildDevice(f, { mac: '001565aabbcc', label: 'Desk 1', location: 'Floor 1' });
  const other = await createTenant(f.deps, ACTOR, { name: 'Other', slug: 'other' });
  await enrolDevice(f.deps, other.id, ACTOR, { mac: '001565000099', vendor: 'yealink', model: 'T46U' });
  const plan = await planDeviceImport(f.deps, f.tenantId, [
    ['mac', 'vendor', 'model', 'label', 'location', 'hotdesk', 'expansion_modules'],
    ['00:15:65:AA:BB:CC', 'yealink', 'T46U', 'Window desk', 'Floor 1', '', '1'],
    ['001565000099', 'yealink', 'T46U', '', '', '', ''],
    ['001565000100', 'yealink', 'T46U', 'New', '', '', '9'],
  ]);
  assert.equal(
    plan.rows.map((r) => [r.change?.kind ?? null, r.change?.kind === 'update' ? r.change.fields : [], r.problem]),
    [
      ['update', ['label', 'expansion_modules'], null],
      [null, [], 'this MAC is already enrolled'],
      [null, [], 'expansion_modules must be a number from 0 to 6, not “9”'],
    ],
  );
  await assertAppError(() => applyDeviceImport(f.deps, f.tenantId, ACTOR, plan), { status: 409, code: 'conflict' });
  f.changes.length = 0;
  assert.equal(await applyDeviceImport(f.deps, f.tenantId, ACTOR, plan, true), { created: 0, updated: 1, unchanged: 0, skipped: 2 });
  const [after] = await listDevices(f.deps.db, f.tenantId);
  assert.equal([after?.label, after?.location, after?.expansionModules], ['Window desk', 'Floor 1', 1]);
  assert.equal(f.changes, [{ deviceIds: [desk.id], reason: 'devices imported' }], 'the changed phone is re-provisioned once, after the commit');
});

Imports('the exports read back through CSV change nothing, and nothing is written or audited', async ({ f }) => {
  await buildDevice(f, { label: '-Desk, "window"', location: '=Floor 1' });
  await buildDevice(f, { vendor: 'snom', model: 'D785', mac: '000413000001', hotdesk: false, expansionModules: 2 });
  await buildUser(f, '101', {
    keys: [
      { type: 'blf', value: '102', label: 'Bob | desk: north \\ side' },
      { type: 'speed', value: '+31612345678', label: '' },
    ],
  });
  await buildUser(f, '102', { sipUser: 'bob-sip', authName: 'bob-auth', hotdesk: false, pin: undefined });
  const auditBefore = await countAudit(f);
  const roundTrip = async (sheet: Sheet) => readSheet(toCsv(sheet.header, sheet.rows)).rows;
  const devices = await planDeviceImport(f.deps, f.tenantId, await roundTrip(await deviceSheet(f.deps.db, f.tenantId)));
  const users = await planUserImport(f.deps, f.tenantId, 4, await roundTrip(await userSheet(f.deps.db, f.tenantId)));
  assert.equal([devices.unchanged, devices.creates, devices.updates, devices.problems], [2, 0, 0, 0], JSON.stringify(devices.rows));
  assert.equal([users.unchanged, users.creates, users.updates, users.problems], [2, 0, 0, 0], JSON.stringify(users.rows));
  assert.equal(await applyDeviceImport(f.deps, f.tenantId, ACTOR, devices), { created: 0, updated: 0, unchanged: 2, skipped: 0 });
  assert.equal(await applyUserImport(f.deps, f.tenantId, 4, ACTOR, users), { created: 0, updated: 0, unchanged: 2, skipped: 0 });
  assert.is(await countAudit(f), auditBefore, 'no audit event: nothing changed');
});

Imports('a user sheet changes users by extension, keys included; the seated user’s phone is re-provisioned', async ({ f }) => {
  const desk = await buildDevice(f);
  await buildUser(f, '101', { keys: [{ type: 'blf', value: '102', label: 'Bob' }] });
  await login(f.deps, f.tenantId, ACTOR, { device: desk.idleAccount, extension: '101', pin: '4826', method: 'api' });
  f.changes.length = 0;
  const plan = await planUserImport(f.deps, f.tenantId, 4, [
    ['extension', 'display_name', 'keys', 'sip_password'],
    ['101', 'User 101', 'blf:103:Carol|speed:0612345678:Mobile', ''],
    ['102', 'Bob', 'blf:101:Alice', 'pw-102'],
    ['103', 'Cas', 'dial:1:x', 'pw'],
    ['104', '', '', 'pw'],
  ]);
  assert.equal(
    plan.rows.map((r) => [r.change?.kind ?? null, r.change?.kind === 'update' ? r.change.fields : [], r.problem]),
    [
      ['update', ['keys'], null],
      ['create', [], null],
      [null, [], 'keys: key 1 “dial:1:x” must be type:value:label with type blf, speed or line'],
      [null, [], 'display_name: must not be empty'],
    ],
  );
  assert.equal(await applyUserImport(f.deps, f.tenantId, 4, ACTOR, plan, true), { created: 1, updated: 1, unchanged: 0, skipped: 2 });
  const alice = (await listUsers(f.deps.db, f.tenantId)).find((u) => u.extension === '101');
  assert.equal(
    (await keysOf(f.deps.db, alice?.id ?? 0)).map((k) => [k.type, k.value, k.label]),
    [
      ['blf', '103', 'Carol'],
      ['speed', '0612345678', 'Mobile'],
    ],
  );
  assert.equal(f.changes, [{ deviceIds: [desk.id], reason: 'user 101 updated' }]);
});

Imports('a keys cell reads back as it was written', () => {
  const keys = [
    { type: 'blf', value: '102', label: 'Bob | desk: north \\ side' },
    { type: 'line', value: '', label: '' },
  ] as const;
  assert.is(formatKeysCell(keys), 'blf:102:Bob \\| desk: north \\\\ side|line::');
  assert.equal(parseKeysCell(formatKeysCell(keys)), keys);
  assert.equal(parseKeysCell(' BLF:102:Bob | speed:0612345678:Mobile '), [
    { type: 'blf', value: '102', label: 'Bob' },
    { type: 'speed', value: '0612345678', label: 'Mobile' },
  ]);
});

Imports.run();
