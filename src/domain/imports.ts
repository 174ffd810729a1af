import { writeTransaction } from '../db/client.ts';
import { AppError, Conflict } from '../errors.ts';
import { assertPinAllowed } from './credentials.ts';
import type { Actor, DomainDeps } from './deps.ts';
import { type EnrolDeviceInput, enrolDevice, enrolledMacs } from './devices.ts';
import { DeviceCreateBody, UserCreateBody, validate } from './inputs.ts';
import { parseMac } from './mac.ts';
import { type QuotaKind, quotaRoom } from './quotas.ts';
import { type CreateUserInput, createUsers, listUsers } from './users.ts';

/**
 * Imports of devices and users from a spreadsheet's rows (parsed from CSV at the edge): first a plan that checks
 * every row without writing anything and names each row's problem, then, only for a plan without problems, all
 * rows written at once in one transaction.
 */

/** One row of a plan: what it becomes, or why it cannot. */
export interface ImportRow<Input> {
  /** The row's line in the file, the header counted. */
  readonly line: number;
  /** The row's cells, as shown back to the admin (a PIN masked). */
  readonly cells: readonly string[];
  readonly input: Input | null;
  readonly problem: string | null;
}

export interface ImportPlan<Input> {
  readonly rows: readonly ImportRow<Input>[];
  /** How many rows have a problem. */
  readonly problems: number;
  /** Whether the plan can be applied: rows, and none with a problem. */
  readonly ready: boolean;
}

export type DeviceImportPlan = ImportPlan<EnrolDeviceInput>;
export type UserImportPlan = ImportPlan<CreateUserInput>;

/** The yes/no values a spreadsheet may hold for a flag; blank is yes. */
const YES_NO = ['', 'yes', 'no', 'true', 'false', '1', '0'];
const isNo = (value: string) => ['no', 'false', '0'].includes(value);

function planOf<Input>(rows: ImportRow<Input>[]): ImportPlan<Input> {
  const problems = rows.filter((r) => r.problem !== null).length;
  return { rows, problems, ready: problems === 0 && rows.length > 0 };
}

/**
 * Marks the rows that would pass the tenant's quota: the valid rows after the first `room` ones (applying checks
 * the quota again in its transaction, so a plan made before another creation still never passes it).
 */
async function withinQuota<Input>(deps: DomainDeps, tenantId: number, kind: QuotaKind, rows: ImportRow<Input>[]): Promise<ImportRow<Input>[]> {
  const room = await quotaRoom(deps.db, tenantId, kind);
  if (room === null) return rows;
  let taken = 0;
  return rows.map((row) => {
    if (row.input === null) return row;
    taken += 1;
    if (taken <= room) return row;
    return {
      ...row,
      input: null,
      problem: `this row would pass the tenant's quota: ${room === 0 ? 'no' : `only ${room}`} more ${room === 1 ? kind.slice(0, -1) : kind} may be added`,
    };
  });
}

/** The column of each field: by the header's names when the first row has `key`, else in the documented order. */
function columns<F extends string>(rows: readonly (readonly string[])[], key: string, order: Record<F, string>) {
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const hasHeader = header.includes(key);
  const at = {} as Record<F, number>;
  (Object.keys(order) as F[]).forEach((field, i) => {
    at[field] = hasHeader ? header.indexOf(order[field]) : i;
  });
  return { at, body: rows.slice(hasHeader ? 1 : 0), firstLine: hasHeader ? 2 : 1 };
}

const cellOf = (cells: readonly string[]) => (index: number) => (index < 0 ? '' : (cells[index] ?? '').trim());

/** The problem an input has against the domain's schema, or null. */
function schemaProblem(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return err.message;
  }
}

/** Checks every row of a device sheet (mac, vendor, model, label, location, hotdesk) without writing anything. */
export async function planDeviceImport(deps: DomainDeps, tenantId: number, rows: readonly (readonly string[])[]): Promise<DeviceImportPlan> {
  const { at, body, firstLine } = columns(rows, 'mac', {
    mac: 'mac',
    vendor: 'vendor',
    model: 'model',
    label: 'label',
    location: 'location',
    hotdesk: 'hotdesk',
  });
  // Every tenant's: a MAC is enrolled in one tenant at most, and another tenant's is refused in the same words.
  const known = await enrolledMacs(deps.db);
  const seen = new Set<string>();
  return planOf(
    await withinQuota(
      deps,
      tenantId,
      'devices',
      body.map((cells, i) => {
        const get = cellOf(cells);
        const mac = parseMac(get(at.mac));
        const found = deps.catalog.findModel(get(at.vendor), get(at.model));
        const hotdesk = get(at.hotdesk).toLowerCase();
        const label = get(at.label);
        const location = get(at.location);
        const problem =
          mac === null
            ? `“${get(at.mac)}” is not a MAC address`
            : found === null
              ? `unknown vendor/model “${get(at.vendor)} ${get(at.model)}”`
              : known.has(mac)
                ? 'this MAC is already enrolled'
                : seen.has(mac)
                  ? 'this MAC is in the file twice'
                  : !YES_NO.includes(hotdesk)
                    ? `hotdesk must be yes or no, not “${get(at.hotdesk)}”`
                    : schemaProblem(() => validate(DeviceCreateBody, { mac, vendor: found.vendor, model: found.model, label, location }));
        if (mac !== null) seen.add(mac);
        const input =
          problem !== null || mac === null || found === null
            ? null
            : { mac, vendor: found.vendor, model: found.model, label, location, hotdesk: !isNo(hotdesk) };
        return { line: i + firstLine, cells, input, problem };
      }),
    ),
  );
}

/**
 * Enrols every device of a plan, all in one transaction.
 * @returns how many were enrolled.
 * @throws AppError conflict (409) for a plan with problems or without rows; what enrolDevice throws (nothing written then).
 */
export async function applyDeviceImport(deps: DomainDeps, tenantId: number, actor: Actor, plan: DeviceImportPlan): Promise<number> {
  if (!plan.ready) throw Conflict('the import has rows with problems, or none; nothing was imported');
  // Each enrolment's event (its redirect registration follows it) is told once all of them committed.
  const enrolled: Parameters<NonNullable<DomainDeps['deviceLifecycle']>>[0][] = [];
  await writeTransaction(deps.db, async (tx) => {
    const inTransaction: DomainDeps = { ...deps, db: tx, deviceLifecycle: (event) => enrolled.push(event) };
    for (const row of plan.rows) if (row.input !== null) await enrolDevice(inTransaction, tenantId, actor, row.input);
  });
  for (const event of enrolled) deps.deviceLifecycle?.(event);
  return plan.rows.length;
}

/** Checks every row of a user sheet (extension, display_name, sip_password, hotdesk, pin) without writing anything. */
export async function planUserImport(deps: DomainDeps, tenantId: number, pinMinLength: number, rows: readonly (readonly string[])[]): Promise<UserImportPlan> {
  const { at, body, firstLine } = columns(rows, 'extension', {
    extension: 'extension',
    name: 'display_name',
    password: 'sip_password',
    hotdesk: 'hotdesk',
    pin: 'pin',
  });
  const known = new Set((await listUsers(deps.db, tenantId)).map((u) => u.extension));
  const seen = new Set<string>();
  return planOf(
    await withinQuota(
      deps,
      tenantId,
      'users',
      body.map((cells, i) => {
        const get = cellOf(cells);
        const extension = get(at.extension);
        const hotdesk = get(at.hotdesk).toLowerCase();
        const pin = get(at.pin);
        const problem =
          schemaProblem(() => {
            validate(UserCreateBody, { extension, displayName: get(at.name), sipPassword: get(at.password) });
            if (pin !== '') assertPinAllowed(pin, extension, pinMinLength);
          }) ??
          (known.has(extension)
            ? 'this extension exists already'
            : seen.has(extension)
              ? 'this extension is in the file twice'
              : !YES_NO.includes(hotdesk)
                ? `hotdesk must be yes or no, not “${get(at.hotdesk)}”`
                : null);
        seen.add(extension);
        const input =
          problem !== null
            ? null
            : { extension, displayName: get(at.name), sipPassword: get(at.password), hotdesk: !isNo(hotdesk), ...(pin === '' ? {} : { pin }) };
        // The PIN is not shown back.
        return { line: i + firstLine, cells: cells.map((c, k) => (k === at.pin && c !== '' ? '****' : c)), input, problem };
      }),
    ),
  );
}

/**
 * Creates every user of a plan, all or none.
 * @returns how many were created.
 * @throws AppError conflict (409) for a plan with problems or without rows; what createUsers throws (nothing written then).
 */
export async function applyUserImport(deps: DomainDeps, tenantId: number, pinMinLength: number, actor: Actor, plan: UserImportPlan): Promise<number> {
  if (!plan.ready) throw Conflict('the import has rows with problems, or none; nothing was imported');
  await createUsers(
    deps,
    tenantId,
    pinMinLength,
    actor,
    plan.rows.flatMap((r) => (r.input === null ? [] : [r.input])),
  );
  return plan.rows.length;
}
