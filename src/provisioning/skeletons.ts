import { createHash, hash } from 'node:crypto';
import { escapeContext } from '../vendors/escape.ts';

/**
 * Rendering a phone file once per shape instead of once per phone.
 *
 * A template is rendered once for each *shape* of context (the same keys, array lengths, booleans and nulls, and
 * the same truthiness of every value) with every string and number replaced by a numbered sentinel: that output,
 * split at the sentinels, is the file's skeleton. Every phone of a model in the same mode has the same shape, so
 * a render is then: walk the context, look its shape up, escape the values and put them into the gaps.
 *
 * Values the same for every phone seen so far (a model's empty keys, the tenant's registrar, …) are baked into the
 * skeleton's text; only values that differed between phones are escaped and joined per render, and only those are
 * what a cached file keeps. What Handlebars does with a value beyond printing it (`eq`, `lookup`, a function in the
 * context, a sentinel character in the template) makes the shape unsplittable: it is then rendered in full, as
 * before, every time.
 */

/** A file rendered for one phone: its ETag now, its text when it is sent. Holds no reference to the context. */
export interface RenderedText {
  /** A strong ETag: a hash of what determines the text (skeleton and values), or of the text itself. */
  readonly etag: string;
  text(): string;
  /** The text as UTF-8, as it is sent. */
  bytes(): Buffer;
  /** Roughly what keeping it costs, in bytes (the skeleton is shared and not counted). */
  readonly cost: number;
}

/** Thrown while rendering a skeleton when a value is used for more than printing it. */
export class Unsplittable extends Error {}

/** Sentinels live in the Private Use Area, which no template of ours contains (a template that does is not split). */
const OPEN = '\uE000';
const CLOSE = '\uE001';
const SEPARATOR = '\u0000';

/** Whether a template's text could be mistaken for sentinels: such a template is always rendered in full. */
export function holdsSentinelCharacters(source: string): boolean {
  return source.includes(OPEN) || source.includes(CLOSE);
}

let skeletonRendering = false;
const sentinels = new WeakSet<object>();

/** For helpers: throws when a value they were given is a sentinel, i.e. the skeleton would depend on it. */
export function refuseSentinel(value: unknown): void {
  if (!skeletonRendering) return;
  if ((typeof value === 'object' && value !== null && sentinels.has(value)) || (typeof value === 'string' && value.includes(OPEN)))
    throw new Unsplittable('a helper compares a per-phone value');
}

/**
 * A value's stand-in in a skeleton: it prints as its sentinel, and anything else a template does with it (its
 * length, a character, iterating it) makes the shape unsplittable, since the real value would answer otherwise.
 */
function sentinel(index: number): object {
  const text = `${OPEN}${index}${CLOSE}`;
  const print = () => text;
  const refuse = (): never => {
    throw new Unsplittable('a template looks into a per-phone value');
  };
  const proxy = new Proxy(
    {},
    {
      get: (_target, property) => (property === Symbol.toPrimitive || property === 'toString' || property === 'valueOf' ? print : refuse()),
      has: refuse,
      ownKeys: refuse,
      getOwnPropertyDescriptor: refuse,
      getPrototypeOf: refuse,
    },
  );
  sentinels.add(proxy);
  return proxy;
}

// Tokens of a shape: object and array markers with their sizes, keys, booleans, null and undefined, and one
// class per value (its truthiness as Handlebars' `if` and `includeZero` see it). Sizes are never negative.
const OBJECT = -1;
const ARRAY = -2;
const TEXT = -3;
const EMPTY_TEXT = -4;
const NUMBER = -5;
const ZERO = -6;
const NOT_A_NUMBER = -7;

type Leaf = string | number;

interface Walked {
  readonly tokens: unknown[];
  readonly leaves: Leaf[];
}

const isPlainObject = (value: object) => {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

const numberKind = (value: number) => (value !== 0 && !Number.isNaN(value) ? NUMBER : value === 0 ? ZERO : NOT_A_NUMBER);

/** Records the shape of a context and its values in walk order (keys as Object.keys gives them, as Handlebars sees them). */
function walk(value: unknown, out: Walked): void {
  switch (typeof value) {
    case 'string':
      out.tokens.push(value === '' ? EMPTY_TEXT : TEXT);
      out.leaves.push(value);
      return;
    case 'number':
      out.tokens.push(numberKind(value));
      out.leaves.push(value);
      return;
    case 'boolean':
    case 'undefined':
      out.tokens.push(value);
      return;
    case 'object': {
      if (value === null) {
        out.tokens.push(null);
        return;
      }
      if (Array.isArray(value)) {
        out.tokens.push(ARRAY, value.length);
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new Unsplittable('a sparse array');
          walk(value[i], out);
        }
        return;
      }
      if (!isPlainObject(value)) throw new Unsplittable('an object that is not plain data');
      const keys = Object.keys(value);
      out.tokens.push(OBJECT, keys.length);
      for (const key of keys) {
        // A key is printed by `{{@key}}`: one holding a sentinel character could pass for a sentinel.
        if (key.includes(OPEN)) throw new Unsplittable('a key holding a sentinel character');
        out.tokens.push(key);
        walk((value as Record<string, unknown>)[key], out);
      }
      return;
    }
    default:
      throw new Unsplittable(`a ${typeof value} in the context`);
  }
}

/**
 * The same walk against a skeleton's recorded shape, without building anything: false at the first difference.
 * The values go into `leaves` (the skeleton's own scratch array, reused: rendering is synchronous).
 */
let expected: readonly unknown[] = [];
let at = 0;
let leafAt = 0;
let leaves: Leaf[] = [];
/** Between matches: nothing to skip (never written, as matching sets the skeleton's own first). */
const NO_SKIPS: Skips = { seen: [], ends: [], leafEnds: [] };
let skips: Skips = NO_SKIPS;
/** The value ranges the last match stepped over, as pairs [first, end), in walk order. */
const skipped: number[] = [];
let skippedLength = 0;
function matches(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      if (expected[at++] !== (value === '' ? EMPTY_TEXT : TEXT)) return false;
      leaves[leafAt++] = value;
      return true;
    case 'number':
      if (expected[at++] !== numberKind(value)) return false;
      leaves[leafAt++] = value;
      return true;
    case 'boolean':
    case 'undefined':
      return expected[at++] === value;
    case 'object': {
      if (value === null) return expected[at++] === null;
      const start = at;
      // The same frozen object as at this place in the last render of this skeleton: its values are still in place.
      const leafStart = leafAt;
      if (skips.seen[start] === value) {
        at = skips.ends[start] as number;
        leafAt = skips.leafEnds[start] as number;
        skipped[skippedLength++] = leafStart;
        skipped[skippedLength++] = leafAt;
        return true;
      }
      if (!matchesObject(value)) return false;
      skips.seen[start] = Object.isFrozen(value) ? value : undefined;
      skips.ends[start] = at;
      skips.leafEnds[start] = leafAt;
      return true;
    }
    default:
      return false;
  }
}

function matchesObject(value: object): boolean {
  if (Array.isArray(value)) {
    if (expected[at++] !== ARRAY || expected[at++] !== value.length) return false;
    for (let i = 0; i < value.length; i++) if (!(i in value) || !matches(value[i])) return false;
    return true;
  }
  if (expected[at++] !== OBJECT || !isPlainObject(value)) return false;
  const count = expected[at++] as number;
  let seen = 0;
  for (const key in value) {
    if (++seen > count || expected[at++] !== key || !matches((value as Record<string, unknown>)[key])) return false;
  }
  return seen === count;
}

/**
 * Per skeleton: the frozen object each place held in the last render and where it ended (token, value), so an
 * object shared between phones (an empty key, made once per model slot by the adapters) is matched once, not per
 * render. Only frozen objects are trusted this way: whatever a frozen object holds is frozen too (the adapters
 * freeze objects of plain values only), so the values the last render left in the scratch space are its values.
 */
interface Skips {
  readonly seen: unknown[];
  readonly ends: number[];
  readonly leafEnds: number[];
}

/**
 * A cheap print of the first two levels (types, sizes), to pick the skeletons worth matching against. An array's
 * elements are not looked at (its length is), and objects are walked without copying their values out: it runs
 * once per render over a context of a few hundred objects.
 */
function shallowPrint(value: unknown, depth = 2): number {
  if (value === null || typeof value !== 'object') return typeof value === 'boolean' ? (value ? 3 : 4) : value == null ? 5 : 6;
  if (Array.isArray(value)) return 7 + value.length * 16;
  if (depth === 0) return 8;
  let print = 8;
  for (const key in value) print = (Math.imul(print, 31) + 16 + shallowPrint((value as Record<string, unknown>)[key], depth - 1)) | 0;
  return print;
}

/** The context with every value replaced by its sentinel, keys and structure kept; numbered in walk order. */
function sentinelCopy(value: unknown, counter: { n: number }): unknown {
  if (typeof value === 'string' || typeof value === 'number') {
    const index = counter.n++;
    // A falsy value ('', 0, NaN) is what its shape says it is, and must stay falsy for `if`: it is kept as it is.
    return value === '' || value === 0 || Number.isNaN(value) ? value : sentinel(index);
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => sentinelCopy(v, counter));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = sentinelCopy((value as Record<string, unknown>)[key], counter);
  return out;
}

/** The texts between the variable values, and which value goes into each gap: fixed once made. */
interface Version {
  /** Flat strings (a string built by `+=` would stay a rope of thousands of pieces, walked at every send). */
  readonly runs: readonly string[];
  /** The same as UTF-8, made on first send. */
  runBytes: readonly Buffer[] | null;
  /**
   * The ETag's input between the holes: the escaped values that do not vary, joined as `render` joins all of them,
   * so the input (and the ETag) is the same whichever values vary.
   */
  readonly etagRuns: readonly string[];
  /** For each gap between runs, the index of its value in a rendered file's holes. */
  readonly gapHoles: readonly number[];
  /** The values that go into the holes, in hole order, by their index in `used`. */
  readonly holeUses: readonly number[];
}

interface Skeleton {
  readonly tokens: readonly unknown[];
  /** What a render may skip; emptied when a match fails part way (the scratch values are then someone else's). */
  skips: Skips;
  /** null: unsplittable, rendered in full every time. */
  readonly split: {
    readonly digest: string;
    /** segments[g] comes before gap g; one more segment than gaps. */
    readonly segments: readonly string[];
    readonly gapLeaves: readonly number[];
    /** The values printed at least once, in walk order: those the ETag covers. */
    readonly used: readonly number[];
    /** The first value seen at each index and its escaped text; variable: differed between phones. */
    readonly bakedRaw: (Leaf | undefined)[];
    readonly bakedText: string[];
    readonly variable: Uint8Array;
    version: Version;
    /** Scratch space of a render: the values in walk order, and the escaped text of those that vary (by use). */
    readonly leaves: Leaf[];
    readonly texts: string[];
    /** For each value index (and one past the last), the first place in `used` at or after it. */
    readonly usedFrom: Int32Array;
  } | null;
}

const noSkips = (): Skips => ({ seen: [], ends: [], leafEnds: [] });

const etagOfText = (text: string) => `"${hash('sha1', text, 'base64url')}"`;

/** Skeletons kept per template (beyond it the least recently used shape is dropped). */
const SHAPES_PER_TEMPLATE = 64;

export interface SkeletonCache {
  /**
   * Renders `template` with `context`, escaping each value with `escapeValue`, from the skeleton of the context's shape.
   * @param key the compiled template's identity (its skeletons are forgotten with `clear`).
   */
  render(key: string, template: (context: unknown) => string, context: unknown, escapeValue: (value: string) => string, splittable?: boolean): RenderedText;
  /** Forgets every skeleton: a template changed. */
  clear(): void;
  /** Forgets the skeletons of one template (`key` as given to `render`): its text changed. */
  forget(key: string): void;
}

export function createSkeletonCache(): SkeletonCache {
  /** Per template and escaping: skeletons by fingerprint, most recently used last. */
  const byTemplate = new Map<string, Map<number, Skeleton[]>>();
  const escapeIds = new Map<(value: string) => string, number>();

  const full = (template: (context: unknown) => string, context: unknown, escapeValue: (value: string) => string): RenderedText => {
    const text = template(escapeContext(context, escapeValue));
    return { etag: etagOfText(text), text: () => text, bytes: () => Buffer.from(text, 'utf8'), cost: text.length };
  };

  const build = (key: string, template: (context: unknown) => string, walked: Walked, context: unknown): Skeleton => {
    const counter = { n: 0 };
    let output: string;
    skeletonRendering = true;
    try {
      // The walk numbered the values; the copy numbers them the same way.
      output = template(sentinelCopy(context, counter));
    } catch (err) {
      if (err instanceof Unsplittable) return { tokens: walked.tokens, skips: noSkips(), split: null };
      throw err;
    } finally {
      skeletonRendering = false;
    }
    const parts = output.split(OPEN);
    const segments = [parts[0] ?? ''];
    const gapLeaves: number[] = [];
    for (let p = 1; p < parts.length; p++) {
      const part = parts[p] ?? '';
      const close = part.indexOf(CLOSE);
      const index = close > 0 ? Number(part.slice(0, close)) : Number.NaN;
      if (!Number.isInteger(index) || index < 0 || index >= walked.leaves.length) return { tokens: walked.tokens, skips: noSkips(), split: null };
      gapLeaves.push(index);
      segments.push(part.slice(close + 1));
    }
    if (segments.some((s) => s.includes(CLOSE))) return { tokens: walked.tokens, skips: noSkips(), split: null };
    const used = [...new Set(gapLeaves)].sort((a, b) => a - b);
    const n = walked.leaves.length;
    const split = {
      digest: createHash('sha1').update(`${key}\n${output}`).digest('base64url'),
      segments,
      gapLeaves,
      used,
      bakedRaw: new Array<Leaf | undefined>(n).fill(undefined),
      bakedText: new Array<string>(n).fill(''),
      variable: new Uint8Array(n),
      version: { runs: [], runBytes: null, etagRuns: [], gapHoles: [], holeUses: [] } as Version,
      leaves: new Array<Leaf>(n).fill(''),
      texts: new Array<string>(used.length).fill(''),
      usedFrom: new Int32Array(n + 1),
    };
    for (let i = 0, u = 0; i <= n; i++) {
      while (u < used.length && (used[u] as number) < i) u++;
      split.usedFrom[i] = u;
    }
    split.version = versionOf(split);
    return { tokens: walked.tokens, skips: noSkips(), split };
  };
  const versionOf = (split: NonNullable<Skeleton['split']>): Version => {
    const holeUses: number[] = [];
    const holeOf = new Map<number, number>();
    split.used.forEach((leaf, u) => {
      if (split.variable[leaf] === 1) {
        holeOf.set(leaf, holeUses.length);
        holeUses.push(u);
      }
    });
    const runs: string[] = [];
    const gapHoles: number[] = [];
    let run = [split.segments[0] ?? ''];
    for (let g = 0; g < split.gapLeaves.length; g++) {
      const leaf = split.gapLeaves[g] as number;
      const next = split.segments[g + 1] ?? '';
      const hole = holeOf.get(leaf);
      if (hole === undefined) run.push(split.bakedText[leaf] as string, next);
      else {
        runs.push(run.join(''));
        gapHoles.push(hole);
        run = [next];
      }
    }
    runs.push(run.join(''));
    // texts.join(SEPARATOR) is etagRuns[0] + hole 0 + etagRuns[1] + … with the constant texts prejoined.
    const etagRuns: string[] = [];
    let constants: string[] = [];
    let afterHole = false;
    for (const leaf of split.used) {
      if (split.variable[leaf] === 0) {
        constants.push(split.bakedText[leaf] as string);
        continue;
      }
      const joined = constants.join(SEPARATOR);
      if (afterHole) etagRuns.push(constants.length > 0 ? `${SEPARATOR}${joined}${SEPARATOR}` : SEPARATOR);
      else etagRuns.push(constants.length > 0 ? `${joined}${SEPARATOR}` : '');
      constants = [];
      afterHole = true;
    }
    const joined = constants.join(SEPARATOR);
    etagRuns.push(afterHole ? (constants.length > 0 ? `${SEPARATOR}${joined}` : '') : joined);
    return { runs, runBytes: null, etagRuns, gapHoles, holeUses };
  };

  /** The skeleton whose shape the context has, its values in its scratch space; a new one if none has it. */
  const find = (escapeId: number, key: string, template: (context: unknown) => string, context: unknown): Skeleton => {
    const shapesKey = `${escapeId}:${key}`;
    let shapes = byTemplate.get(shapesKey);
    if (shapes === undefined) {
      shapes = new Map();
      byTemplate.set(shapesKey, shapes);
    }
    const print = shallowPrint(context);
    const candidates = shapes.get(print) ?? [];
    for (let c = candidates.length - 1; c >= 0; c--) {
      const skeleton = candidates[c] as Skeleton;
      expected = skeleton.tokens;
      at = 0;
      leafAt = 0;
      leaves = skeleton.split?.leaves ?? [];
      skips = skeleton.skips;
      skippedLength = 0;
      const found = matches(context) && at === expected.length;
      leaves = [];
      if (!found) skeleton.skips = noSkips();
      skips = NO_SKIPS;
      if (found) {
        if (c !== candidates.length - 1) {
          candidates.splice(c, 1);
          candidates.push(skeleton);
        }
        return skeleton;
      }
    }
    skippedLength = 0; // a new skeleton: every value is looked at
    const walked: Walked = { tokens: [], leaves: [] };
    walk(context, walked);
    const skeleton = build(key, template, walked, context);
    skeleton.split?.leaves.splice(0, walked.leaves.length, ...walked.leaves);
    let count = 0;
    for (const list of shapes.values()) count += list.length;
    if (count >= SHAPES_PER_TEMPLATE) shapes.clear();
    shapes.set(print, [...(shapes.get(print) ?? []), skeleton]);
    return skeleton;
  };

  return {
    render(key, template, context, escapeValue, splittable = true) {
      if (!splittable) return full(template, context, escapeValue);
      let escapeId = escapeIds.get(escapeValue);
      if (escapeId === undefined) {
        escapeId = escapeIds.size;
        escapeIds.set(escapeValue, escapeId);
      }
      let skeleton: Skeleton;
      try {
        skeleton = find(escapeId, key, template, context);
      } catch (err) {
        if (err instanceof Unsplittable) return full(template, context, escapeValue);
        throw err;
      }
      const split = skeleton.split;
      if (split === null) return full(template, context, escapeValue);
      const { used, bakedRaw, bakedText, variable, leaves: values, texts, usedFrom } = split;
      let changed = false;
      let separatorInValue = false;
      // Values of objects the match stepped over are those of the last render, already looked at (baked, or
      // escaped into `texts`): the loop steps over them too.
      let r = 0;
      for (let u = 0; u < used.length; u++) {
        const i = used[u] as number;
        while (r < skippedLength && (skipped[r + 1] as number) <= i) r += 2;
        if (r < skippedLength && (skipped[r] as number) <= i) {
          u = (usedFrom[skipped[r + 1] as number] as number) - 1;
          r += 2;
          continue;
        }
        const value = values[i] as Leaf;
        if (variable[i] === 0 && value === bakedRaw[i]) continue;
        const text = typeof value === 'string' ? escapeValue(value) : String(value);
        // The separator of the ETag's input and of a kept file's holes: an escaper that lets it through is not split.
        if (text.includes(SEPARATOR)) separatorInValue = true;
        texts[u] = text;
        if (variable[i] === 0) {
          if (bakedRaw[i] === undefined && !separatorInValue) {
            bakedRaw[i] = value;
            bakedText[i] = text;
          } else variable[i] = 1;
          changed = true;
        }
      }
      if (changed) split.version = versionOf(split);
      if (separatorInValue) return full(template, context, escapeValue);
      const version = split.version;
      const holeTexts = version.holeUses.map((u) => texts[u] as string);
      let etagInput = `${split.digest}${SEPARATOR}${version.etagRuns[0]}`;
      for (let h = 0; h < holeTexts.length; h++) etagInput += (holeTexts[h] as string) + (version.etagRuns[h + 1] as string);
      return kept(`"${hash('sha1', etagInput, 'base64url')}"`, version, holeTexts.join(SEPARATOR));
    },
    clear() {
      byTemplate.clear();
    },
    forget(key) {
      for (const shapesKey of byTemplate.keys()) if (shapesKey.slice(shapesKey.indexOf(':') + 1) === key) byTemplate.delete(shapesKey);
    },
  };
}

/**
 * A file rendered from a skeleton: the version it fills and its own values, nothing of the context. A class, not
 * closures: a cache holds one per phone, and two closures with their context cost more than the values.
 */
class SkeletonText implements RenderedText {
  readonly etag: string;
  private readonly version: Version;
  private readonly holes: string;
  constructor(etag: string, version: Version, holes: string) {
    this.etag = etag;
    this.version = version;
    this.holes = holes;
  }
  get cost(): number {
    return this.holes.length + 200;
  }
  text(): string {
    return assemble(this.version, this.holes);
  }
  bytes(): Buffer {
    return assembleBytes(this.version, this.holes);
  }
}

function kept(etag: string, version: Version, holes: string): RenderedText {
  return new SkeletonText(etag, version, holes);
}

/**
 * The bytes from the skeleton's runs, encoded once per version, and the holes encoded now, straight into the one
 * buffer sent (no Buffer per hole, no list of pieces to join).
 */
function assembleBytes(version: Version, holes: string): Buffer {
  if (version.runBytes === null) version.runBytes = version.runs.map((run) => Buffer.from(run, 'utf8'));
  const { runBytes, gapHoles } = version;
  if (gapHoles.length === 0) return runBytes[0] ?? Buffer.alloc(0);
  const values = holes.split(SEPARATOR);
  let length = 0;
  for (const run of runBytes) length += run.length;
  for (let g = 0; g < gapHoles.length; g++) length += Buffer.byteLength(values[gapHoles[g] as number] as string, 'utf8');
  const out = Buffer.allocUnsafe(length);
  let offset = (runBytes[0] as Buffer).copy(out, 0);
  for (let g = 0; g < gapHoles.length; g++) {
    offset += out.write(values[gapHoles[g] as number] as string, offset, 'utf8');
    offset += (runBytes[g + 1] as Buffer).copy(out, offset);
  }
  return out;
}

function assemble(version: Version, holes: string): string {
  const { runs, gapHoles } = version;
  if (gapHoles.length === 0) return runs[0] ?? '';
  const values = holes.split(SEPARATOR);
  let out = runs[0] as string;
  for (let g = 0; g < gapHoles.length; g++) out += (values[gapHoles[g] as number] as string) + (runs[g + 1] as string);
  return out;
}
