import { type Db, writeTransaction } from '../db/client.ts';
import type { DeviceRow, UserRow } from '../db/schema.ts';
import { AppError, Conflict } from '../errors.ts';
import { assertPinAllowed } from './credentials.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { type EnrolDeviceInput, enrolDevice, enrolledMacs, listDevices, type UpdateDeviceInput, updateDevice } from './devices.ts';
import { DeviceCreateBody, DeviceUpdateBody, UserCreateBody, UserUpdateBody, validate } from './inputs.ts';
import type { UserKey, UserKeyType } from './keyLayout.ts';
import { formatMac, type Mac, parseMac } from './mac.ts';
import { type QuotaKind, quotaRoom } from './quotas.ts';
import { type CreateUserInput, keysOf, listUsers, saveUsers, type UpdateUserInput, type UserUpdate } from './users.ts';

/**
 * Imports of devices and users from a spreadsheet's rows (parsed from CSV at the edge), the same sheets the
 * exports write: a row whose MAC (devices) or extension (users) exists changes that one, any other creates one.
 * First a plan that checks every row without writing anything and says what each row does (create, the fields
 * it changes, nothing) or its problem; then the plan's rows are written at once in one transaction, either only a
 * plan without problems or, when the admin asks, only its good rows. An export imported again changes nothing.
 *
 * Columns are found by the header's names; a column the sheet lacks leaves that field as it is, and so does a
 * blank cell, except label, location and keys, where blank means none (so an exported blank stays blank).
 */

/** What applying one row does. */
export type RowChange<Create, Update> =
  | { readonly kind: 'create'; readonly input: Create }
  /** `fields`: the names of the columns whose values differ from what hotprov has. */
  | { readonly kind: 'update'; readonly ref: string; readonly fields: readonly string[]; readonly input: Update }
  | { readonly kind: 'unchanged' };

/** One row of a plan: what it does, or why it cannot. */
export interface ImportRow<Create, Update> {
  /** The row's line in the file, the header counted. */
  readonly line: number;
  /** The row's cells, as shown back to the admin (a PIN or password masked). */
  readonly cells: readonly string[];
  readonly change: RowChange<Create, Update> | null;
  readonly problem: string | null;
}

export interface ImportPlan<Create, Update> {
  readonly rows: readonly ImportRow<Create, Update>[];
  /** How many rows have a problem. */
  readonly problems: number;
  /** How many good rows create something, change something, or find everything as it is. */
  readonly creates: number;
  readonly updates: number;
  readonly unchanged: number;
  /** Whether the whole plan can be applied: rows, and none with a problem. */
  readonly ready: boolean;
}

export interface DeviceUpdate {
  readonly ref: string;
  readonly input: UpdateDeviceInput;
}

export type DeviceImportPlan = ImportPlan<EnrolDeviceInput, UpdateDeviceInput>;
export type UserImportPlan = ImportPlan<CreateUserInput, UpdateUserInput>;

/** What applying a plan did. */
export interface ImportOutcome {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Rows with a problem, left out (only when the admin asked for the good rows alone). */
  readonly skipped: number;
}

/** The columns of a device sheet, in the order a sheet without a header has them; the export writes these. */
export const DEVICE_COLUMNS = ['mac', 'vendor', 'model', 'label', 'location', 'hotdesk', 'expansion_modules'] as const;
/** The columns of a user sheet, in the order a sheet without a header has them; the export writes these but sip_password and pin. */
export const USER_COLUMNS = ['extension', 'display_name', 'sip_password', 'hotdesk', 'pin', 'sip_user', 'auth_name', 'keys'] as const;

/** The yes/no values a spreadsheet may hold for a flag; blank is yes for a new row and "as it is" for an existing one. */
const YES_NO = ['', 'yes', 'no', 'true', 'false', '1', '0'];
const isNo = (value: string) => ['no', 'false', '0'].includes(value);

const KEY_TYPES: readonly UserKeyType[] = ['blf', 'speed', 'line'];

/**
 * A user's keys in one cell: `type:value:label` per key, keys separated by `|` (`blf:102:Bob|speed:0612345678:Mobile`).
 * A value never holds `:` or `|`; a label may hold `:`, and `\|` and `\\` stand for a `|` or `\` in it.
 */
export function formatKeysCell(keys: readonly UserKey[]): string {
  return keys.map((k) => `${k.type}:${k.value}:${k.label.replace(/[\\|]/g, (c) => `\\${c}`)}`).join('|');
}

/**
 * Reads a keys cell (see formatKeysCell); blank is no keys.
 * @throws AppError invalid_field (400) naming the key that is not `type:value:label`.
 */
export function parseKeysCell(cell: string): UserKey[] {
  if (cell.trim() === '') return [];
  const items: string[] = [];
  let item = '';
  for (let i = 0; i < cell.length; i++) {
    const c = cell[i] ?? '';
    if (c === '\\' && i + 1 < cell.length) item += cell[++i];
    else if (c === '|') {
      items.push(item);
      item = '';
    } else item += c;
  }
  items.push(item);
  return items.map((item, n) => {
    const [type = '', value = '', ...label] = item.split(':');
    const key = { type: type.trim().toLowerCase(), value: value.trim(), label: label.join(':').trim() };
    if (!(KEY_TYPES as readonly string[]).includes(key.type)) {
      throw new AppError(400, 'invalid_field', `keys: key ${n + 1} “${item}” must be type:value:label with type blf, speed or line`);
    }
    return key as UserKey;
  });
}

function planOf<Create, Update>(rows: ImportRow<Create, Update>[]): ImportPlan<Create, Update> {
  const counted = (kind: string) => rows.filter((r) => r.change?.kind === kind).length;
  const problems = rows.filter((r) => r.problem !== null).length;
  return { rows, problems, creates: counted('create'), updates: counted('update'), unchanged: counted('unchanged'), ready: problems === 0 && rows.length > 0 };
}

/**
 * Marks the rows that would pass the tenant's quota: the creating rows after the first `room` ones (applying
 * checks the quota again in its transaction, so a plan made before another creation still never passes it).
 */
async function withinQuota<C, U>(deps: DomainDeps, tenantId: number, kind: QuotaKind, rows: ImportRow<C, U>[]): Promise<ImportRow<C, U>[]> {
  const room = await quotaRoom(deps.db, tenantId, kind);
  if (room === null) return rows;
  let taken = 0;
  return rows.map((row) => {
    if (row.change?.kind !== 'create') return row;
    taken += 1;
    if (taken <= room) return row;
    return {
      ...row,
      change: null,
      problem: `this row would pass the tenant's quota: ${room === 0 ? 'no' : `only ${room}`} more ${room === 1 ? kind.slice(0, -1) : kind} may be added`,
    };
  });
}

/** The column of each field: by the header's names when the first row has `key`, else in the documented order. */
function columns<F extends string>(rows: readonly (readonly string[])[], key: string, order: readonly F[]) {
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const hasHeader = header.includes(key);
  const at = Object.fromEntries(order.map((field, i) => [field, hasHeader ? header.indexOf(field) : i])) as Record<F, number>;
  return { at, body: rows.slice(hasHeader ? 1 : 0), firstLine: hasHeader ? 2 : 1 };
}

/** A row's cells by field: `get` its trimmed text ('' when missing), `has` whether the sheet has the column for it. */
function reader<F extends string>(at: Record<F, number>, cells: readonly string[]) {
  return {
    get: (field: F) => (at[field] < 0 ? '' : (cells[at[field]] ?? '').trim()),
    has: (field: F) => at[field] >= 0 && at[field] < cells.length,
  };
}

/** The problem an input has against the domain's schema, or null; the field named as the sheet's column (display_name). */
function schemaProblem(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return err.message.replace(/^[a-z]+(?:[A-Z][a-z]*)+(?=[:.])/, (field) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
  }
}

/** The fields of an update whose value differs from the current one; the update itself keeps only those. */
function differences<T extends object>(wanted: Partial<T>, current: T, same: (field: keyof T) => boolean = (f) => wanted[f] === current[f]) {
  const fields = (Object.keys(wanted) as (keyof T)[]).filter((f) => wanted[f] !== undefined && !same(f));
  return { fields, input: Object.fromEntries(fields.map((f) => [f, wanted[f]])) as Partial<T> };
}

/**
 * Checks every row of a device sheet without writing anything: a MAC enrolled in this tenant is that device's
 * row (its vendor cannot change), any other MAC a new device.
 */
export async function planDeviceImport(deps: DomainDeps, tenantId: number, rows: readonly (readonly string[])[]): Promise<DeviceImportPlan> {
  const { at, body, firstLine } = columns(rows, 'mac', DEVICE_COLUMNS);
  // Every tenant's: a MAC is enrolled in one tenant at most, and another tenant's is refused in the same words.
  const enrolled = await enrolledMacs(deps.db);
  const ours = new Map((await listDevices(deps.db, tenantId)).map((d) => [d.mac, d]));
  const seen = new Set<string>();
  const planned = body.map((cells, i): ImportRow<EnrolDeviceInput, UpdateDeviceInput> => {
    const { get, has } = reader(at, cells);
    const row = (change: RowChange<EnrolDeviceInput, UpdateDeviceInput> | null, problem: string | null = null) => ({
      line: i + firstLine,
      cells,
      change,
      problem,
    });
    const mac = parseMac(get('mac'));
    if (mac === null) return row(null, `“${get('mac')}” is not a MAC address`);
    if (seen.has(mac)) return row(null, 'this MAC is in the file twice');
    seen.add(mac);
    const hotdesk = get('hotdesk').toLowerCase();
    if (!YES_NO.includes(hotdesk)) return row(null, `hotdesk must be yes or no, not “${get('hotdesk')}”`);
    const modules = get('expansion_modules');
    if (modules !== '' && !/^[0-6]$/.test(modules)) return row(null, `expansion_modules must be a number from 0 to 6, not “${modules}”`);
    const expansionModules = modules === '' ? undefined : Number(modules);
    const current = ours.get(mac);
    if (current === undefined) {
      if (enrolled.has(mac)) return row(null, 'this MAC is already enrolled');
      const found = deps.catalog.findModel(get('vendor'), get('model'));
      if (found === null) return row(null, `unknown vendor/model “${get('vendor')} ${get('model')}”`);
      const input = {
        mac,
        vendor: found.vendor,
        model: found.model,
        label: get('label'),
        location: get('location'),
        hotdesk: !isNo(hotdesk),
        ...(expansionModules === undefined ? {} : { expansionModules }),
      };
      return row(
        { kind: 'create', input },
        schemaProblem(() => validate(DeviceCreateBody, input)),
      );
    }
    let model: string | undefined;
    if (get('vendor') !== '' || get('model') !== '') {
      const found = deps.catalog.findModel(get('vendor') || current.vendor, get('model') || current.model);
      if (found === null) return row(null, `unknown vendor/model “${get('vendor')} ${get('model')}”`);
      if (found.vendor !== current.vendor) return row(null, `this phone is enrolled as a ${current.vendor}; delete it to enrol it as a ${found.vendor}`);
      model = found.model;
    }
    const wanted: UpdateDeviceInput = {
      model,
      label: has('label') ? get('label') : undefined,
      location: has('location') ? get('location') : undefined,
      hotdesk: hotdesk === '' ? undefined : !isNo(hotdesk),
      expansionModules,
    };
    const problem = schemaProblem(() => validate(DeviceUpdateBody, wanted));
    if (problem !== null) return row(null, problem);
    const { fields, input } = differences<UpdateDeviceInput>(wanted, current as DeviceRow & UpdateDeviceInput);
    return row(fields.length === 0 ? { kind: 'unchanged' } : { kind: 'update', ref: current.idleAccount, fields: fields.map(columnOfDeviceField), input });
  });
  return planOf(await withinQuota(deps, tenantId, 'devices', planned));
}

/** A device field by its sheet's column name. */
const columnOfDeviceField = (field: keyof UpdateDeviceInput): string => (field === 'expansionModules' ? 'expansion_modules' : field);

/** Refuses a plan with problems unless only its good rows were asked for, and a plan without rows. */
function assertApplicable(plan: ImportPlan<unknown, unknown>, onlyGoodRows: boolean): void {
  if (plan.rows.length === 0) throw Conflict('the import has no rows; nothing was imported');
  if (plan.problems > 0 && !onlyGoodRows) throw Conflict('the import has rows with problems; nothing was imported');
}

const outcomeOf = (plan: ImportPlan<unknown, unknown>): ImportOutcome => ({
  created: plan.creates,
  updated: plan.updates,
  unchanged: plan.unchanged,
  skipped: plan.problems,
});

/**
 * Enrols and changes the devices of a plan, all in one transaction; the rows with a problem are left out when
 * `onlyGoodRows`, else such a plan is refused. A plan with nothing to change writes nothing (nor an audit event).
 * @throws AppError conflict (409) for a plan with problems (unless onlyGoodRows) or without rows; what
 *   enrolDevice or updateDevice throws (nothing written then).
 */
export async function applyDeviceImport(
  deps: DomainDeps,
  tenantId: number,
  actor: Actor,
  plan: DeviceImportPlan,
  onlyGoodRows = false,
): Promise<ImportOutcome> {
  assertApplicable(plan, onlyGoodRows);
  if (plan.creates + plan.updates === 0) return outcomeOf(plan);
  // Each enrolment's event (its redirect registration follows it) and each change's re-provisioning are told
  // once all of them committed.
  const enrolled: Parameters<NonNullable<DomainDeps['deviceLifecycle']>>[0][] = [];
  const changed: number[] = [];
  await writeTransaction(deps.db, async (tx) => {
    const inTransaction: DomainDeps = {
      ...deps,
      db: tx,
      deviceLifecycle: (event) => enrolled.push(event),
      profilesChanged: async (change) => {
        changed.push(...change.deviceIds);
        return [];
      },
    };
    for (const { change } of plan.rows) {
      if (change?.kind === 'create') await enrolDevice(inTransaction, tenantId, actor, change.input);
      if (change?.kind === 'update') await updateDevice(inTransaction, tenantId, actor, change.ref, change.input);
    }
  });
  for (const event of enrolled) deps.deviceLifecycle?.(event);
  if (changed.length > 0) await deps.profilesChanged({ deviceIds: changed, reason: 'devices imported' });
  return outcomeOf(plan);
}

type UserField = (typeof USER_COLUMNS)[number];

/**
 * Checks every row of a user sheet without writing anything: an extension of this tenant is that user's row, any
 * other a new user. A PIN in the sheet always counts as a change (only its hash is kept to compare with).
 */
export async function planUserImport(deps: DomainDeps, tenantId: number, pinMinLength: number, rows: readonly (readonly string[])[]): Promise<UserImportPlan> {
  const { at, body, firstLine } = columns(rows, 'extension', USER_COLUMNS);
  const users = new Map((await listUsers(deps.db, tenantId)).map((u) => [u.extension, u]));
  const seen = new Set<string>();
  const planned: ImportRow<CreateUserInput, UpdateUserInput>[] = [];
  for (const [i, cells] of body.entries()) {
    const { get, has } = reader(at, cells);
    // Secrets are not shown back.
    const masked = cells.map((c, k) => ((k === at.pin || k === at.sip_password) && c !== '' ? '****' : c));
    const row = (change: RowChange<CreateUserInput, UpdateUserInput> | null, problem: string | null = null) => {
      planned.push({ line: i + firstLine, cells: masked, change, problem });
    };
    const extension = get('extension');
    if (seen.has(extension)) {
      row(null, 'this extension is in the file twice');
      continue;
    }
    seen.add(extension);
    const hotdesk = get('hotdesk').toLowerCase();
    if (!YES_NO.includes(hotdesk)) {
      row(null, `hotdesk must be yes or no, not “${get('hotdesk')}”`);
      continue;
    }
    let keys: UserKey[] | undefined;
    const keysProblem = schemaProblem(() => {
      keys = has('keys') ? parseKeysCell(get('keys')) : undefined;
    });
    if (keysProblem !== null) {
      row(null, keysProblem);
      continue;
    }
    const pin = get('pin');
    const optional = (field: UserField) => (get(field) === '' ? undefined : get(field));
    const current = users.get(extension);
    if (current === undefined) {
      const input: CreateUserInput = {
        extension,
        displayName: get('display_name'),
        sipPassword: get('sip_password'),
        sipUser: optional('sip_user'),
        authName: optional('auth_name'),
        hotdesk: !isNo(hotdesk),
        pin: optional('pin'),
        keys,
      };
      const problem = schemaProblem(() => {
        validate(UserCreateBody, input);
        if (pin !== '') assertPinAllowed(pin, extension, pinMinLength);
      });
      row(problem === null ? { kind: 'create', input } : null, problem);
      continue;
    }
    const wanted: UpdateUserInput = {
      displayName: optional('display_name'),
      sipPassword: optional('sip_password'),
      sipUser: optional('sip_user'),
      authName: optional('auth_name'),
      hotdesk: hotdesk === '' ? undefined : !isNo(hotdesk),
      pin: optional('pin'),
      keys,
    };
    const problem = schemaProblem(() => {
      validate(UserUpdateBody, wanted);
      if (pin !== '') assertPinAllowed(pin, extension, pinMinLength);
    });
    if (problem !== null) {
      row(null, problem);
      continue;
    }
    const currentKeys = keys === undefined ? [] : await keysOf(deps.db, current.id);
    const { fields, input } = differences<UpdateUserInput>(wanted, current as UserRow & UpdateUserInput, (field) =>
      field === 'pin'
        ? false
        : field === 'keys'
          ? formatKeysCell(keys ?? []) === formatKeysCell(currentKeys)
          : wanted[field] === current[field as keyof UserRow],
    );
    row(fields.length === 0 ? { kind: 'unchanged' } : { kind: 'update', ref: extension, fields: fields.map(columnOfUserField), input });
  }
  return planOf(await withinQuota(deps, tenantId, 'users', planned));
}

/** A user field by its sheet's column name. */
const columnOfUserField = (field: keyof UpdateUserInput): string =>
  ({ displayName: 'display_name', sipPassword: 'sip_password', sipUser: 'sip_user', authName: 'auth_name' })[field as string] ?? field;

/**
 * Creates and changes the users of a plan, all or none; the rows with a problem are left out when `onlyGoodRows`,
 * else such a plan is refused. A plan with nothing to change writes nothing (nor an audit event).
 * @throws AppError conflict (409) for a plan with problems (unless onlyGoodRows) or without rows; what saveUsers
 *   throws (nothing written then).
 */
export async function applyUserImport(
  deps: DomainDeps,
  tenantId: number,
  pinMinLength: number,
  actor: Actor,
  plan: UserImportPlan,
  onlyGoodRows = false,
): Promise<ImportOutcome> {
  assertApplicable(plan, onlyGoodRows);
  if (plan.creates + plan.updates === 0) return outcomeOf(plan);
  const creates = plan.rows.flatMap((r) => (r.change?.kind === 'create' ? [r.change.input] : []));
  const updates = plan.rows.flatMap((r): UserUpdate[] => (r.change?.kind === 'update' ? [{ extension: r.change.ref, input: r.change.input }] : []));
  await saveUsers(deps, tenantId, pinMinLength, actor, creates, updates);
  return outcomeOf(plan);
}

/** A sheet as the exports write it: a header of column names, then one row per device or user. */
export interface Sheet {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A tenant's devices as a sheet the device import reads back unchanged; idle_account is only for reading. */
export async function deviceSheet(db: Db, tenantId: number): Promise<Sheet> {
  const rows = (await listDevices(db, tenantId)).map((d) => [
    formatMac(d.mac as Mac),
    d.vendor,
    d.model,
    d.label,
    d.location,
    d.hotdesk ? 'yes' : 'no',
    String(d.expansionModules),
    d.idleAccount,
  ]);
  return { header: [...DEVICE_COLUMNS, 'idle_account'], rows };
}

/**
 * A tenant's users as a sheet the user import reads back unchanged: no SIP password or PIN (secrets stay out of
 * files; a blank one is left as it is), pin_set only for reading.
 */
export async function userSheet(db: Db, tenantId: number): Promise<Sheet> {
  const rows = [];
  for (const u of await listUsers(db, tenantId)) {
    const keys = await keysOf(db, u.id);
    rows.push([u.extension, u.displayName, u.hotdesk ? 'yes' : 'no', u.sipUser, u.authName, formatKeysCell(keys), u.pinHash === null ? 'no' : 'yes']);
  }
  return { header: ['extension', 'display_name', 'hotdesk', 'sip_user', 'auth_name', 'keys', 'pin_set'], rows };
}
