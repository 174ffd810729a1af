import { createHash } from 'node:crypto';
import type { Codec, PhoneLanguage } from '../domain/phoneValues.ts';

/**
 * Settings a deployment sets on every phone besides accounts and keys (issue 13), vendor-neutral.
 * A null field leaves the phone's own default: nothing is written for it.
 */
export interface PhoneSettings {
  /** Directed call pickup code; a BLF key of a ringing colleague dials it before the colleague's extension. */
  readonly pickupCode: string;
  /** The provisioning poll that catches a lost NOTIFY. */
  readonly poll: PollSchedule;
  readonly timezone: TimeZoneRules | null;
  readonly ntpServer: string | null;
  readonly language: PhoneLanguage | null;
  readonly voicemailNumber: string | null;
  /** Preferred codecs, first preferred; the others are switched off. */
  readonly codecs: readonly Codec[] | null;
  readonly srtp: 'off' | 'optional' | 'required' | null;
}

export type PollSchedule =
  | { readonly mode: 'interval'; readonly minutes: number }
  /** Once a day at this phone's own minute (`HH:MM`, phone time) inside the tenant's window. */
  | { readonly mode: 'nightly'; readonly at: string; readonly until: string };

// The lists live with the domain, which validates and stores them; re-exported for the adapters and schemas.
export { CODECS, type Codec, isTimeZone, PHONE_LANGUAGES, type PhoneLanguage } from '../domain/phoneValues.ts';

/** One end of daylight saving time as the phones take it: the n-th (5 = last) weekday of a month at an hour. */
export interface DstChange {
  readonly month: number;
  /** 1–4: that week of the month; 5: the last one. */
  readonly week: number;
  /** 1 = Monday … 7 = Sunday. */
  readonly weekday: number;
  /** Local wall-clock hour at which the change happens, before it. */
  readonly hour: number;
}

export interface TimeZoneRules {
  readonly iana: string;
  /** Standard (winter) offset from UTC in minutes. */
  readonly standardOffsetMinutes: number;
  readonly dst: { readonly saveMinutes: number; readonly start: DstChange; readonly end: DstChange } | null;
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

const toMinutes = (hhmm: string): number => {
  const m = HHMM.exec(hhmm);
  return m === null ? 0 : Number(m[1]) * 60 + Number(m[2]);
};
const toHhmm = (minutes: number): string => {
  const m = ((minutes % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

/**
 * This phone's minute inside the nightly window [start, end) (which may cross midnight), chosen from its MAC so a
 * building's phones spread over the window instead of polling in the same second, and stay on the same minute.
 */
export function nightlyPollSlot(mac: string, start: string, end: string): { at: string; until: string } {
  const from = toMinutes(start);
  let length = toMinutes(end) - from;
  if (length <= 0) length += 1440;
  const offset = createHash('sha256').update(mac.toLowerCase()).digest().readUInt32BE(0) % length;
  return { at: toHhmm(from + offset), until: toHhmm(from + offset + 1) };
}

/** Offset from UTC in minutes of an IANA zone at an instant. */
function offsetAt(zone: string, at: Date): number {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value;
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(part ?? '');
  if (m === null) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/** The instant (to the minute) in (from, to] at which the zone's offset changes; the offset at `from` differs from `to`'s. */
function transitionBetween(zone: string, from: number, to: number): number {
  const before = offsetAt(zone, new Date(from));
  let lo = from;
  let hi = to;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetAt(zone, new Date(mid)) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

function changeAt(instant: number, offsetBeforeMinutes: number): DstChange {
  const local = new Date(instant + offsetBeforeMinutes * 60_000);
  const day = local.getUTCDate();
  const month = local.getUTCMonth() + 1;
  const daysInMonth = new Date(Date.UTC(local.getUTCFullYear(), month, 0)).getUTCDate();
  const jsDay = local.getUTCDay();
  return {
    month,
    week: day + 7 > daysInMonth ? 5 : Math.ceil(day / 7),
    weekday: jsDay === 0 ? 7 : jsDay,
    hour: local.getUTCHours(),
  };
}

const rulesCache = new Map<string, TimeZoneRules>();

/**
 * An IANA zone's standard offset and daylight-saving rule for a year, as phones take them (month, week, weekday,
 * hour), found from the zone data Node carries. Zones without daylight saving get dst null.
 */
export function timeZoneRules(zone: string, year: number = new Date().getUTCFullYear()): TimeZoneRules {
  const key = `${zone}@${year}`;
  const cached = rulesCache.get(key);
  if (cached !== undefined) return cached;
  const day = 86_400_000;
  const start = Date.UTC(year, 0, 1);
  const changes: { at: number; from: number; to: number }[] = [];
  let previous = offsetAt(zone, new Date(start));
  for (let t = start + day; t <= Date.UTC(year + 1, 0, 1); t += day) {
    const now = offsetAt(zone, new Date(t));
    if (now !== previous) changes.push({ at: transitionBetween(zone, t - day, t), from: previous, to: now });
    previous = now;
  }
  let rules: TimeZoneRules;
  const on = changes.find((c) => c.to > c.from);
  const off = changes.find((c) => c.to < c.from);
  if (on === undefined || off === undefined) {
    rules = { iana: zone, standardOffsetMinutes: previous, dst: null };
  } else {
    rules = {
      iana: zone,
      standardOffsetMinutes: on.from,
      dst: { saveMinutes: on.to - on.from, start: changeAt(on.at, on.from), end: changeAt(off.at, off.from) },
    };
  }
  rulesCache.set(key, rules);
  return rules;
}
