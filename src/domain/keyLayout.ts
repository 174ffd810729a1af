/** What a model offers for programmable keys; read from vendor-profiles/. */
export interface KeyCapacity {
  /** Line / function keys on the phone itself, paged keys included. */
  readonly lineKeys: number;
  /** Expansion modules the model supports, or null when it supports none. */
  readonly expansion: { readonly name: string; readonly modules: number; readonly keysPerModule: number } | null;
}

export type UserKeyType = 'blf' | 'speed' | 'line';

export interface UserKey {
  readonly type: UserKeyType;
  readonly value: string;
  readonly label: string;
}

/** What one key does once laid out. */
export type KeyFunction =
  | { readonly kind: 'empty' }
  /** The appearance of the phone's only account (account 1). */
  | { readonly kind: 'line'; readonly label: string }
  /** `value` is the login code to dial; `url`, when set, opens hotprov's login or logout screen instead. */
  | { readonly kind: 'login' | 'logout'; readonly value: string; readonly label: string; readonly url?: string }
  | { readonly kind: 'blf' | 'speed'; readonly value: string; readonly label: string };

export interface KeySlot {
  /** 0 for the phone's own keys, 1.. for an expansion module. */
  readonly module: number;
  /** 1-based within its module (or the phone). */
  readonly index: number;
  /** 1-based across the phone and then every supported module, in order. */
  readonly position: number;
  readonly fn: KeyFunction;
}

export interface KeyLayout {
  /** Every key of the phone, used or not: a vendor writes them all so nothing stale survives. */
  readonly phone: readonly KeySlot[];
  /** Every key of every module the model supports (attached or not), one array per module. */
  readonly modules: readonly (readonly KeySlot[])[];
  /** User keys that did not fit, in order. */
  readonly unplaced: readonly UserKey[];
  /** One line per problem, for the log and the API. */
  readonly warnings: readonly string[];
}

const EMPTY: KeyFunction = Object.freeze({ kind: 'empty' });

/**
 * A model's empty slots, made once per model and shared by every layout (frozen: nobody may change them). Most of
 * a phone's keys are empty, and the adapters keep what they make of an empty slot by the slot, so a render builds
 * only the keys in use. A module no key reaches is the whole shared array.
 */
const emptySlotsByCapacity = new WeakMap<KeyCapacity, { readonly phone: readonly KeySlot[]; readonly modules: readonly (readonly KeySlot[])[] }>();

/** The shared empty modules of every model, as layoutKeys hands them over. */
const sharedEmptyModules = new WeakSet<object>();

/** Whether a layout's modules are a model's shared empty ones (no key reaches them): the same array every time. */
export function isSharedEmptyModules(modules: KeyLayout['modules']): boolean {
  return sharedEmptyModules.has(modules);
}

function emptySlotsOf(capacity: KeyCapacity) {
  let slots = emptySlotsByCapacity.get(capacity);
  if (slots === undefined) {
    const perModule = capacity.expansion?.keysPerModule ?? 0;
    const phone = Array.from({ length: capacity.lineKeys }, (_, i) => Object.freeze({ module: 0, index: i + 1, position: i + 1, fn: EMPTY }));
    const modules = Array.from({ length: capacity.expansion?.modules ?? 0 }, (_, m) =>
      Object.freeze(
        Array.from({ length: perModule }, (_, i) =>
          Object.freeze({ module: m + 1, index: i + 1, position: capacity.lineKeys + m * perModule + i + 1, fn: EMPTY }),
        ),
      ),
    );
    slots = { phone: Object.freeze(phone), modules: Object.freeze(modules) };
    sharedEmptyModules.add(slots.modules);
    emptySlotsByCapacity.set(capacity, slots);
  }
  return slots;
}

/** A BLF or speed dial with no number is a gap the user left; it takes no key. */
export function isEmptyKey(key: UserKey): boolean {
  return key.type !== 'line' && key.value.trim() === '';
}

/**
 * Lays keys out on a model: the fixed keys first (the account line, then Login or Logout), then the user's
 * keys in order, skipping empty ones; keys beyond the phone's own go to attached expansion modules.
 * @param capacity the model's keys.
 * @param attachedModules how many expansion modules the device has (clamped to what the model supports).
 * @param fixed keys that always come first.
 * @param userKeys the user's keys in their order; empty ones are skipped, not given a slot.
 * @param modelName used in warnings.
 * @returns every slot of the phone and its modules, and what did not fit.
 */
export function layoutKeys(
  capacity: KeyCapacity,
  attachedModules: number,
  fixed: readonly KeyFunction[],
  userKeys: readonly UserKey[],
  modelName: string,
): KeyLayout {
  const supported = capacity.expansion?.modules ?? 0;
  const perModule = capacity.expansion?.keysPerModule ?? 0;
  const usable = Math.max(0, Math.min(attachedModules, supported));

  const kept = userKeys.filter((k) => !isEmptyKey(k));
  const wanted: KeyFunction[] = [...fixed];
  for (const key of kept) {
    wanted.push(key.type === 'line' ? { kind: 'line', label: key.label } : { kind: key.type, value: key.value, label: key.label });
  }

  const capacityUsable = capacity.lineKeys + usable * perModule;
  let next = 0;
  const take = (): KeyFunction => (next < wanted.length && next < capacityUsable ? (wanted[next++] ?? EMPTY) : EMPTY);

  const empty = emptySlotsOf(capacity);
  // A slot with a function is made here; an empty one is the model's shared slot.
  const slot = (shared: KeySlot, fn: KeyFunction): KeySlot =>
    fn === EMPTY ? shared : { module: shared.module, index: shared.index, position: shared.position, fn };
  const phone: KeySlot[] = [];
  for (const shared of empty.phone) phone.push(slot(shared, take()));

  // No key reaches the modules (none attached, or the keys fit on the phone): the model's shared empty modules.
  let modules: readonly (readonly KeySlot[])[] = empty.modules;
  if (usable > 0 && next < wanted.length && next < capacityUsable) {
    const reached: (readonly KeySlot[])[] = [];
    for (let m = 1; m <= supported; m++) {
      const sharedSlots = empty.modules[m - 1] as readonly KeySlot[];
      if (m > usable || next >= wanted.length || next >= capacityUsable) reached.push(sharedSlots);
      else reached.push(sharedSlots.map((shared) => slot(shared, take())));
    }
    modules = reached;
  }

  const placedUserKeys = Math.max(0, next - fixed.length);
  const unplaced = kept.slice(placedUserKeys);
  const warnings: string[] = [];
  if (unplaced.length > 0) {
    const where =
      usable > 0
        ? `${capacity.lineKeys} keys and ${usable} ${capacity.expansion?.name ?? 'expansion'} module(s)`
        : supported > 0
          ? `${capacity.lineKeys} keys and no expansion module attached`
          : `${capacity.lineKeys} keys`;
    const list = unplaced.map((k) => `${k.type} ${k.value}${k.label === '' ? '' : ` "${k.label}"`}`).join(', ');
    warnings.push(`${unplaced.length} key(s) do not fit on the ${modelName} (${where}): ${list}`);
  }
  return { phone, modules, unplaced, warnings };
}
