import { createHash } from 'node:crypto';
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
/** For helpers: throws when a value they were given is a sentinel, i.e. the skeleton would depend on it. */
export function refuseSentinel(value: unknown): void {
  if (skeletonRendering && typeof value === 'string' && value.includes(OPEN)) throw new Unsplittable('a helper compares a per-phone value');
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
  fingerprint: number;
}

function walk(value: unknown, out: Walked): void {
  switch (typeof value) {
    case 'string':
      out.tokens.push(value === '' ? EMPTY_TEXT : TEXT);
      out.leaves.push(value);
      out.fingerprint = (Math.imul(out.fingerprint, 31) + (value === '' ? 4 : 3)) | 0;
      return;
    case 'number': {
      const kind = value !== 0 && !Number.isNaN(value) ? NUMBER : value === 0 ? ZERO : NOT_A_NUMBER;
      out.tokens.push(kind);
      out.leaves.push(value);
      out.fingerprint = (Math.imul(out.fingerprint, 31) - kind) | 0;
      return;
    }
    case 'boolean':
    case 'undefined':
      out.tokens.push(value);
      out.fingerprint = (Math.imul(out.fingerprint, 31) + (value === true ? 11 : value === false ? 12 : 13)) | 0;
      return;
    case 'object': {
      if (value === null) {
        out.tokens.push(null);
        out.fingerprint = (Math.imul(out.fingerprint, 31) + 14) | 0;
        return;
      }
      if (Array.isArray(value)) {
        out.tokens.push(ARRAY, value.length);
        out.fingerprint = (Math.imul(out.fingerprint, 31) + 15 + value.length) | 0;
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new Unsplittable('a sparse array');
          walk(value[i], out);
        }
        return;
      }
      const keys = Object.keys(value);
      out.tokens.push(OBJECT, keys.length);
      out.fingerprint = (Math.imul(out.fingerprint, 31) + 16 + keys.length) | 0;
      for (const key of keys) {
        out.tokens.push(key);
        out.fingerprint = (Math.imul(out.fingerprint, 31) + key.length) | 0;
        walk((value as Record<string, unknown>)[key], out);
      }
      return;
    }
    default:
      throw new Unsplittable(`a ${typeof value} in the context`);
  }
}

/** The context with every value replaced by its sentinel, keys and structure kept; numbered in walk order. */
function sentinelCopy(value: unknown, counter: { n: number }): unknown {
  if (typeof value === 'string' || typeof value === 'number') return `${OPEN}${counter.n++}${CLOSE}`;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => sentinelCopy(v, counter));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = sentinelCopy((value as Record<string, unknown>)[key], counter);
  return out;
}

/** The texts between the variable values, and which value goes into each gap: fixed once made. */
interface Version {
  readonly runs: readonly string[];
  /** For each gap between runs, the index of its value in a rendered file's holes. */
  readonly gapHoles: readonly number[];
  /** The values (by walk index) that go into the holes, in hole order. */
  readonly holeLeaves: readonly number[];
}

interface Skeleton {
  readonly tokens: readonly unknown[];
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
  } | null;
}

const etagOfText = (text: string) => `"${createHash('sha1').update(text).digest('base64url')}"`;

/** Skeletons kept per template (beyond it the least recently used shape is dropped). */
const SHAPES_PER_TEMPLATE = 64;

export interface SkeletonCache {
  /**
   * Renders `template` with `context`, escaping each value with `escape`, from the skeleton of the context's shape.
   * @param key the compiled template's identity (its skeletons are forgotten with `clear`).
   */
  render(key: string, template: (context: unknown) => string, context: unknown, escape: (value: string) => string, splittable?: boolean): RenderedText;
  /** Forgets every skeleton: a template changed. */
  clear(): void;
}

export function createSkeletonCache(): SkeletonCache {
  /** Per template and escaping: skeletons by fingerprint, most recently used last. */
  const byTemplate = new Map<string, Map<number, Skeleton[]>>();
  const escapeIds = new Map<(value: string) => string, number>();

  const full = (template: (context: unknown) => string, context: unknown, escape: (value: string) => string): RenderedText => {
    const text = template(escapeContext(context, escape));
    return { etag: etagOfText(text), text: () => text, cost: text.length };
  };

  const build = (key: string, template: (context: unknown) => string, walked: Walked, context: unknown): Skeleton => {
    const counter = { n: 0 };
    let output: string;
    skeletonRendering = true;
    try {
      // The walk numbered the values; the copy numbers them the same way.
      output = template(sentinelCopy(context, counter));
    } catch (err) {
      if (err instanceof Unsplittable) return { tokens: walked.tokens, split: null };
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
      if (!Number.isInteger(index) || index < 0 || index >= walked.leaves.length) return { tokens: walked.tokens, split: null };
      gapLeaves.push(index);
      segments.push(part.slice(close + 1));
    }
    if (segments.some((s) => s.includes(CLOSE))) return { tokens: walked.tokens, split: null };
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
        version: { runs: [], gapHoles: [], holeLeaves: [] } as Version,
    };
    split.version = versionOf(split);
    return { tokens: walked.tokens, split };
  };
  const versionOf = (split: NonNullable<Skeleton['split']>): Version => {
    const holeLeaves = split.used.filter((i) => split.variable[i] === 1);
    const holeOf = new Map(holeLeaves.map((leaf, hole) => [leaf, hole]));
    const runs: string[] = [];
    const gapHoles: number[] = [];
    let run = split.segments[0] ?? '';
    for (let g = 0; g < split.gapLeaves.length; g++) {
      const leaf = split.gapLeaves[g] as number;
      const next = split.segments[g + 1] ?? '';
      const hole = holeOf.get(leaf);
      if (hole === undefined) run += (split.bakedText[leaf] as string) + next;
      else {
        runs.push(run);
        gapHoles.push(hole);
        run = next;
      }
    }
    runs.push(run);
    return { runs, gapHoles, holeLeaves };
  };

  const find = (escapeId: number, key: string, template: (context: unknown) => string, context: unknown, walked: Walked): Skeleton => {
    let shapes = byTemplate.get(`${escapeId}:${key}`);
    if (shapes === undefined) {
      shapes = new Map();
      byTemplate.set(`${escapeId}:${key}`, shapes);
    }
    const candidates = shapes.get(walked.fingerprint);
    if (candidates !== undefined) {
      for (let c = candidates.length - 1; c >= 0; c--) {
        const skeleton = candidates[c] as Skeleton;
        if (sameTokens(skeleton.tokens, walked.tokens)) return skeleton;
      }
    }
    const skeleton = build(key, template, walked, context);
    let count = 0;
    for (const list of shapes.values()) count += list.length;
    if (count >= SHAPES_PER_TEMPLATE) shapes.clear();
    const list = shapes.get(walked.fingerprint) ?? [];
    list.push(skeleton);
    shapes.set(walked.fingerprint, list);
    return skeleton;
  };

  return {
    render(key, template, context, escape, splittable = true) {
      if (!splittable) return full(template, context, escape);
      let escapeId = escapeIds.get(escape);
      if (escapeId === undefined) {
        escapeId = escapeIds.size;
        escapeIds.set(escape, escapeId);
      }
      const walked: Walked = { tokens: [], leaves: [], fingerprint: 0 };
      try {
        walk(context, walked);
      } catch (err) {
        if (err instanceof Unsplittable) return full(template, context, escape);
        throw err;
      }
      const skeleton = find(escapeId, key, template, context, walked);
      const split = skeleton.split;
      if (split === null) return full(template, context, escape);
      const { used, bakedRaw, bakedText, variable } = split;
      const texts = new Array<string>(used.length);
      let changed = false;
      let separatorInValue = false;
      for (let u = 0; u < used.length; u++) {
        const i = used[u] as number;
        const value = walked.leaves[i] as Leaf;
        if (variable[i] === 0 && value === bakedRaw[i]) {
          texts[u] = bakedText[i] as string;
          continue;
        }
        const text = typeof value === 'string' ? escape(value) : String(value);
        // The separator of the ETag's input and of a kept file's holes: an escaper that lets it through is not split.
        if (text.includes(SEPARATOR)) separatorInValue = true;
        texts[u] = text;
        if (variable[i] === 0) {
          if (bakedRaw[i] === undefined) {
            bakedRaw[i] = value;
            bakedText[i] = text;
          } else {
            variable[i] = 1;
          }
          changed = true;
        }
      }
      if (changed) split.version = versionOf(split);
      if (separatorInValue) return full(template, context, escape);
      const version = split.version;
      const etag = `"${createHash('sha1').update(split.digest).update(SEPARATOR).update(texts.join(SEPARATOR)).digest('base64url')}"`;
      const usedIndex = new Map<number, number>();
      if (version.holeLeaves.length > 0) for (let u = 0; u < used.length; u++) usedIndex.set(used[u] as number, u);
      const holes = version.holeLeaves.map((leaf) => texts[usedIndex.get(leaf) as number] as string).join(SEPARATOR);
      return kept(etag, version, holes);
    },
    clear() {
      byTemplate.clear();
    },
  };
}

function sameTokens(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Built apart from the render so that its closure holds the version and the holes, nothing of the context. */
function kept(etag: string, version: Version, holes: string): RenderedText {
  return { etag, text: () => assemble(version, holes), cost: holes.length + 64 };
}

function assemble(version: Version, holes: string): string {
  const { runs, gapHoles } = version;
  if (gapHoles.length === 0) return runs[0] ?? '';
  const values = holes.split(SEPARATOR);
  let out = runs[0] as string;
  for (let g = 0; g < gapHoles.length; g++) out += (values[gapHoles[g] as number] as string) + (runs[g + 1] as string);
  return out;
}
