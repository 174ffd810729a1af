import { and, asc, eq, sql } from 'drizzle-orm';
import { type Db, returnedRow, tablesOf, writeTransaction } from '../db/client.ts';
import { preparedOnce } from '../db/prepared.ts';
import type { UserKeyRow, UserRow } from '../db/schema.ts';
import { BadRequest, Conflict, UnknownExtension } from '../errors.ts';
import { recordAudit } from './audit.ts';
import { assertPinAllowed, generatePin, hashSecret } from './credentials.ts';
import type { Actor, DomainDeps } from './deps.ts';
import type { UserKey } from './keyLayout.ts';
import { getUser } from './lookup.ts';
import { assertQuotaRoom } from './quotas.ts';
import { closeSession, openSessionOfUser } from './sessions.ts';

export interface CreateUserInput {
  readonly extension: string;
  readonly displayName: string;
  readonly sipPassword: string;
  /** SIP user name; the extension when absent. */
  readonly sipUser?: string | undefined;
  /** Digest auth name; the SIP user when absent. */
  readonly authName?: string | undefined;
  readonly pin?: string | undefined;
  readonly hotdesk?: boolean | undefined;
  readonly keys?: readonly UserKey[] | undefined;
}

export type UpdateUserInput = Partial<Omit<CreateUserInput, 'extension'>>;

export interface UserWithKeys {
  readonly user: UserRow;
  readonly keys: readonly UserKeyRow[];
}

/** A user's keys in order. */
export async function keysOf(db: Db, userId: number): Promise<UserKeyRow[]> {
  const { userKeys } = tablesOf(db);
  return await preparedOnce(db, 'keysOfUser', () =>
    db
      .select()
      .from(userKeys)
      .where(eq(userKeys.userId, sql.placeholder('userId')))
      .orderBy(asc(userKeys.position))
      .prepare(),
  ).execute({ userId });
}

export async function listUsers(db: Db, tenantId: number): Promise<UserRow[]> {
  const { users } = tablesOf(db);
  return await db.select().from(users).where(eq(users.tenantId, tenantId)).orderBy(asc(users.extension));
}

/**
 * Creates a user with their keys.
 * @throws AppError weak_pin (400), conflict (409) when the extension exists.
 */
export async function createUser(deps: DomainDeps, tenantId: number, pinMinLength: number, actor: Actor, input: CreateUserInput): Promise<UserWithKeys> {
  const [created] = await createUsers(deps, tenantId, pinMinLength, actor, [input]);
  if (created === undefined) throw new Error('createUsers returned nothing');
  return created;
}

/**
 * Creates several users at once, all or none: every PIN is checked and hashed first, then one transaction
 * inserts them all (a CSV import must not stop half-way).
 * @throws AppError weak_pin (400), conflict (409) for an extension that exists or repeats.
 */
export async function createUsers(
  deps: DomainDeps,
  tenantId: number,
  pinMinLength: number,
  actor: Actor,
  inputs: readonly CreateUserInput[],
): Promise<UserWithKeys[]> {
  return (await saveUsers(deps, tenantId, pinMinLength, actor, inputs, [])).created;
}

/**
 * Changes a user. A change the phone would show re-provisions the device the user sits at;
 * clearing the hot-desk flag logs the user out.
 * @throws AppError unknown_extension (404), weak_pin (400).
 */
export async function updateUser(
  deps: DomainDeps,
  tenantId: number,
  pinMinLength: number,
  actor: Actor,
  extension: string,
  input: UpdateUserInput,
): Promise<UserWithKeys> {
  await getUser(deps.db, tenantId, extension);
  const [updated] = (await saveUsers(deps, tenantId, pinMinLength, actor, [], [{ extension, input }])).updated;
  if (updated === undefined) throw new Error('saveUsers returned nothing');
  return updated;
}

/** A change to one user, named by extension. */
export interface UserUpdate {
  readonly extension: string;
  readonly input: UpdateUserInput;
}

/**
 * Creates and changes users all in one transaction, all or none (a CSV import must not stop half-way): every PIN
 * is checked and hashed first, since a SQLite transaction may await nothing but the database. The devices the
 * changed users sit at are re-provisioned once it committed.
 * @throws AppError weak_pin (400), conflict (409) for an extension that exists or repeats, unknown_extension (404)
 *   for a change to a user that does not exist, quota_exceeded (409).
 */
export async function saveUsers(
  deps: DomainDeps,
  tenantId: number,
  pinMinLength: number,
  actor: Actor,
  creates: readonly CreateUserInput[],
  updates: readonly UserUpdate[],
): Promise<{ created: UserWithKeys[]; updated: UserWithKeys[] }> {
  for (const input of creates) if (input.pin !== undefined) assertPinAllowed(input.pin, input.extension, pinMinLength);
  for (const { extension, input } of updates) if (input.pin !== undefined) assertPinAllowed(input.pin, extension, pinMinLength);
  const hashPin = async (pin: string | undefined) => (pin === undefined ? null : await hashSecret(pin));
  const createHashes = await Promise.all(creates.map((input) => hashPin(input.pin)));
  const updateHashes = await Promise.all(updates.map(({ input }) => hashPin(input.pin)));
  const now = deps.now();
  const seated: { deviceId: number; extension: string }[] = [];
  const saved = await writeTransaction(deps.db, async (tx) => {
    // In this write transaction, so concurrent creations cannot pass the quota together.
    if (creates.length > 0) await assertQuotaRoom(tx, tenantId, 'users', creates.length);
    const created: UserWithKeys[] = [];
    for (const [i, input] of creates.entries()) created.push(await insertUser(tx, tenantId, now, actor, input, createHashes[i] ?? null));
    const updated: UserWithKeys[] = [];
    for (const [i, { extension, input }] of updates.entries()) {
      const change = await changeUser(tx, tenantId, now, actor, extension, input, updateHashes[i] ?? null);
      if (change.seatedDevice !== null) seated.push({ deviceId: change.seatedDevice, extension });
      updated.push(change.saved);
    }
    return { created, updated };
  });
  if (seated.length > 0) {
    const reason = seated.length === 1 ? `user ${seated[0]?.extension} updated` : `${seated.length} users updated`;
    await deps.profilesChanged({ deviceIds: seated.map((s) => s.deviceId), reason });
  }
  return saved;
}

async function insertUser(tx: Db, tenantId: number, now: Date, actor: Actor, input: CreateUserInput, pinHash: string | null): Promise<UserWithKeys> {
  const { users } = tablesOf(tx);
  const taken = (
    await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.extension, input.extension)))
  )[0];
  if (taken !== undefined) throw Conflict(`extension ${input.extension} already exists`);
  const sipUser = input.sipUser ?? input.extension;
  const user = await returnedRow(
    tx
      .insert(users)
      .values({
        tenantId,
        extension: input.extension,
        displayName: input.displayName,
        sipUser,
        authName: input.authName ?? sipUser,
        sipPassword: input.sipPassword,
        pinHash,
        hotdesk: input.hotdesk ?? true,
        createdAt: now,
      })
      .returning(),
  );
  const keys = await replaceKeys(tx, user.id, input.keys ?? []);
  await recordAudit(tx, tenantId, now, actor, {
    action: 'user.created',
    userExtension: user.extension,
    detail: { hotdesk: user.hotdesk, keys: keys.length, pinSet: pinHash !== null },
  });
  return { user, keys };
}

/** One user's change inside a transaction; the device the user sits at, for re-provisioning once it committed. */
async function changeUser(
  tx: Db,
  tenantId: number,
  now: Date,
  actor: Actor,
  extension: string,
  input: UpdateUserInput,
  pinHash: string | null,
): Promise<{ saved: UserWithKeys; seatedDevice: number | null }> {
  const { users } = tablesOf(tx);
  const before = await getUser(tx, tenantId, extension);
  const sipUser = input.sipUser ?? before.sipUser;
  const user = (
    await tx
      .update(users)
      .set({
        displayName: input.displayName ?? before.displayName,
        sipUser,
        authName: input.authName ?? (input.sipUser !== undefined && before.authName === before.sipUser ? sipUser : before.authName),
        sipPassword: input.sipPassword ?? before.sipPassword,
        pinHash: pinHash ?? before.pinHash,
        hotdesk: input.hotdesk ?? before.hotdesk,
      })
      .where(eq(users.id, before.id))
      .returning()
  )[0];
  if (user === undefined) throw UnknownExtension(extension);
  const keys = input.keys === undefined ? await keysOf(tx, user.id) : await replaceKeys(tx, user.id, input.keys);
  const fields = Object.keys(input).filter((k) => input[k as keyof UpdateUserInput] !== undefined);
  await recordAudit(tx, tenantId, now, actor, { action: 'user.updated', userExtension: extension, detail: { fields } });
  const open = await openSessionOfUser(tx, user.id);
  if (open === undefined) return { saved: { user, keys }, seatedDevice: null };
  if (before.hotdesk && !user.hotdesk) await closeSession(tx, tenantId, now, actor, open, 'user_not_hotdesk');
  return { saved: { user, keys }, seatedDevice: open.deviceId };
}

/**
 * Gives a user a new random PIN that passes the policy, and returns it: the only time it is ever readable.
 * @throws AppError unknown_extension (404).
 */
export async function issuePin(deps: DomainDeps, tenantId: number, pinMinLength: number, actor: Actor, extension: string): Promise<string> {
  const pin = generatePin(extension, Math.max(pinMinLength, 4));
  await updateUser(deps, tenantId, pinMinLength, actor, extension, { pin });
  return pin;
}

/** A PIN issued to one user: readable only in the answer that issued it. */
export interface IssuedPin {
  readonly extension: string;
  readonly displayName: string;
  readonly pin: string;
}

/** How many PINs are hashed at once: each is a scrypt on the thread pool, which phone logins share. */
const HASHES_AT_ONCE = 4;

/**
 * Gives each of these users a new random PIN, all in one transaction (all or none), and returns the PINs: the
 * only time they are readable. No phone file holds a PIN, so no phone is re-provisioned.
 * @param extensions the users, or `without_pin` for every user of the tenant who has none.
 * @throws AppError unknown_extension (404) for an extension the tenant does not have; bad_request (400) for none.
 */
export async function issuePins(
  deps: DomainDeps,
  tenantId: number,
  pinMinLength: number,
  actor: Actor,
  extensions: readonly string[] | 'without_pin',
): Promise<IssuedPin[]> {
  const { users } = tablesOf(deps.db);
  const all = await listUsers(deps.db, tenantId);
  const chosen =
    extensions === 'without_pin'
      ? all.filter((u) => u.pinHash === null)
      : [...new Set(extensions)].map((extension) => all.find((u) => u.extension === extension) ?? throwUnknown(extension));
  if (chosen.length === 0) throw BadRequest(extensions === 'without_pin' ? 'every user has a PIN already' : 'no user was chosen');
  const issued = chosen.map((u) => ({
    id: u.id,
    extension: u.extension,
    displayName: u.displayName,
    pin: generatePin(u.extension, Math.max(pinMinLength, 4)),
  }));
  const hashes: string[] = [];
  for (let i = 0; i < issued.length; i += HASHES_AT_ONCE) {
    hashes.push(...(await Promise.all(issued.slice(i, i + HASHES_AT_ONCE).map((u) => hashSecret(u.pin)))));
  }
  const now = deps.now();
  await writeTransaction(deps.db, async (tx) => {
    for (const [i, u] of issued.entries()) {
      const changed = await tx
        .update(users)
        .set({ pinHash: hashes[i] ?? null })
        .where(and(eq(users.tenantId, tenantId), eq(users.id, u.id)))
        .returning({ id: users.id });
      // Deleted since the list was read: the whole batch is refused rather than half handed out.
      if (changed.length === 0) throw UnknownExtension(u.extension);
      await recordAudit(tx, tenantId, now, actor, { action: 'user.updated', userExtension: u.extension, detail: { fields: ['pin'], bulk: true } });
    }
  });
  return issued.map(({ extension, displayName, pin }) => ({ extension, displayName, pin }));
}

const throwUnknown = (extension: string): never => {
  throw UnknownExtension(extension);
};

/** Deletes a user, logging them out first so their phone goes idle. */
export async function deleteUser(deps: DomainDeps, tenantId: number, actor: Actor, extension: string): Promise<UserRow> {
  const { users } = tablesOf(deps.db);
  const now = deps.now();
  let seatedDevice: number | null = null;
  const user = await writeTransaction(deps.db, async (tx) => {
    const row = await getUser(tx, tenantId, extension);
    const open = await openSessionOfUser(tx, row.id);
    if (open !== undefined) {
      seatedDevice = open.deviceId;
      await closeSession(tx, tenantId, now, actor, open, 'user_deleted');
    }
    await tx.delete(users).where(eq(users.id, row.id));
    await recordAudit(tx, tenantId, now, actor, { action: 'user.deleted', userExtension: extension });
    return row;
  });
  if (seatedDevice !== null) await deps.profilesChanged({ deviceIds: [seatedDevice], reason: `user ${extension} deleted` });
  return user;
}

async function replaceKeys(tx: Db, userId: number, keys: readonly UserKey[]): Promise<UserKeyRow[]> {
  const { userKeys } = tablesOf(tx);
  await tx.delete(userKeys).where(eq(userKeys.userId, userId));
  if (keys.length === 0) return [];
  return await tx
    .insert(userKeys)
    .values(keys.map((k, i) => ({ userId, position: i + 1, type: k.type, value: k.value, label: k.label })))
    .returning();
}
