import { type SQL, sql } from 'drizzle-orm';
import { type Db, dialectOf, tablesOf, timeParameter } from '../db/client.ts';
import { InvalidField } from '../errors.ts';
import { isTimeZone } from './phoneValues.ts';

/**
 * Desk occupancy from the hot-desk sessions: per desk and day, how long someone sat there and how many people did;
 * per user, where they sat. What a facilities team asks for when it sizes a hot-desk floor. Days are the tenant's
 * (its time zone, UTC unless set): their bounds are worked out here, with daylight saving, and the sums in SQL.
 */

/** The longest range one report covers: a year, leap day included. */
export const MAX_OCCUPANCY_DAYS = 366;
/** The range a report covers unless asked otherwise: the last 30 days, today included. */
export const DEFAULT_OCCUPANCY_DAYS = 30;

/** A calendar day as `YYYY-MM-DD`. */
export type Day = string;

export interface OccupancyRange {
  readonly from: Day;
  readonly to: Day;
}

export interface DeskRef {
  readonly deviceId: number;
  readonly idleAccount: string;
  readonly mac: string;
  readonly label: string;
  readonly location: string;
  /** Deleted by an admin since: its past occupancy still counts. */
  readonly retired: boolean;
}

export interface DeskDay extends DeskRef {
  readonly day: Day;
  readonly occupiedMs: number;
  readonly people: number;
}

export interface DeskTotal extends DeskRef {
  readonly occupiedMs: number;
  /** Days on which anyone sat there. */
  readonly daysOccupied: number;
  readonly people: number;
  readonly sessions: number;
}

export interface UserDesk extends DeskRef {
  readonly userId: number;
  readonly extension: string;
  readonly displayName: string;
  readonly occupiedMs: number;
  readonly daysOccupied: number;
  readonly sessions: number;
  readonly lastStartedAt: Date;
}

export interface OccupancyReport {
  readonly timeZone: string;
  readonly from: Day;
  readonly to: Day;
  /** Each day of the range, in order. */
  readonly days: readonly Day[];
  /** Every desk of the tenant that is in service, occupied or not, most occupied first; then retired desks that were. */
  readonly desks: readonly DeskTotal[];
  /** Only the days a desk was occupied, by day then desk. */
  readonly deskDays: readonly DeskDay[];
  /** Per user and desk, by extension then most time first. A deleted user's sessions are not listed. */
  readonly users: readonly UserDesk[];
}

/** A day as YYYY-MM-DD, in the years a hot desk can have been used (1970 to 2999). */
const DAY = /^(19[7-9]\d|2\d{3})-(\d{2})-(\d{2})$/;

/** The tenant's zone, or UTC for one this runtime does not know. */
const zoneOrUtc = (zone: string): string => (isTimeZone(zone) ? zone : 'UTC');

/** The calendar day an instant falls on in a zone. */
export function dayIn(zone: string, at: Date): Day {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: zoneOrUtc(zone), year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** How far a zone's clocks are ahead of UTC at an instant, in ms. */
function offsetMs(zone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(at));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wall - Math.floor(at / 1000) * 1000;
}

/** The instant a day begins in a zone (its midnight, or the first moment after a gap that swallowed midnight). */
export function startOfDay(zone: string, day: Day): Date {
  const m = DAY.exec(day);
  if (m === null) throw InvalidField('day', 'must be a date as YYYY-MM-DD');
  const wallMidnight = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // The offset at the guess, then again at the answer: right on either side of a daylight-saving change.
  const guess = wallMidnight - offsetMs(zoneOrUtc(zone), wallMidnight);
  return new Date(wallMidnight - offsetMs(zoneOrUtc(zone), guess));
}

/** The day after. */
export function nextDay(day: Day): Day {
  const m = DAY.exec(day);
  if (m === null) throw InvalidField('day', 'must be a date as YYYY-MM-DD');
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1)).toISOString().slice(0, 10);
}

/** A real calendar day written as YYYY-MM-DD (not 2026-02-30). */
const isDay = (text: string): boolean => {
  const m = DAY.exec(text);
  return m !== null && new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) === text;
};

/**
 * The range a report covers: the days asked for, a missing end filled from the other (or from today), at most
 * MAX_OCCUPANCY_DAYS.
 * @throws AppError invalid_field (400) for a date that is not YYYY-MM-DD, an end before the start, or too long a range.
 */
export function occupancyRange(zone: string, now: Date, asked: { from?: string | undefined; to?: string | undefined }): OccupancyRange {
  for (const field of ['from', 'to'] as const) {
    const value = asked[field];
    if (value !== undefined && value !== '' && !isDay(value)) throw InvalidField(field, 'must be a date as YYYY-MM-DD');
  }
  const given = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  const askedFrom = given(asked.from);
  const askedTo = given(asked.to);
  const today = dayIn(zone, now);
  const span = DEFAULT_OCCUPANCY_DAYS - 1;
  let to = askedTo ?? today;
  if (askedTo === undefined && askedFrom !== undefined) {
    // From a day on: the default span from there, not past today (unless the day itself is later).
    const [earliest] = [shiftDay(askedFrom, span), today].sort();
    to = earliest !== undefined && earliest > askedFrom ? earliest : askedFrom;
  }
  const from = askedFrom ?? shiftDay(to, -span);
  if (to < from) throw InvalidField('to', 'must not be before from');
  if (daysBetween(from, to) > MAX_OCCUPANCY_DAYS) throw InvalidField('to', `a report covers at most ${MAX_OCCUPANCY_DAYS} days`);
  return { from, to };
}

/** A day some days later (or earlier, for a negative count). */
const shiftDay = (day: Day, days: number): Day => new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** How many days a range holds, both ends included. */
const daysBetween = (from: Day, to: Day): number => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;

/** Runs a SELECT written in SQL on either engine and answers its rows. */
async function selectRows<T>(db: Db, query: SQL): Promise<T[]> {
  if (dialectOf(db) === 'sqlite') return (await db.all(query)) as T[];
  const result = await (db as unknown as { execute(q: SQL): Promise<{ rows: T[] }> }).execute(query);
  return result.rows;
}

interface DeskRow {
  device_id: number;
  idle_account: string;
  mac: string;
  label: string;
  location: string;
  retired: number | boolean;
}

/**
 * The occupancy of a tenant's desks over a range of its days. Each session is cut at the day bounds (an open one
 * counts up to `now`) and summed per desk and day, per desk and per user and desk, in SQL; a day's time on a desk
 * never exceeds the day.
 */
export async function occupancyReport(
  db: Db,
  tenant: { readonly id: number; readonly timezone: string },
  range: OccupancyRange,
  now: Date,
): Promise<OccupancyReport> {
  const { hotdeskSessions, devices, users } = tablesOf(db);
  const zone = zoneOrUtc(tenant.timezone);
  const days: Day[] = [];
  const count = daysBetween(range.from, range.to);
  for (let i = 0, d = range.from; i < count; i++, d = nextDay(d)) days.push(d);
  const bounds = days.map((day, i) => ({ day, start: startOfDay(zone, day).getTime(), end: startOfDay(zone, days[i + 1] ?? nextDay(day)).getTime() }));
  const rangeStart = bounds[0]?.start ?? now.getTime();
  const rangeEnd = bounds[bounds.length - 1]?.end ?? now.getTime();
  const sqlite = dialectOf(db) === 'sqlite';

  // Instants as epoch ms on both engines, so the arithmetic below is the same SQL.
  const ms = (column: string) => (sqlite ? sql.raw(`s.${column}`) : sql.raw(`(extract(epoch from s.${column}) * 1000)::bigint`));
  const least = sqlite ? sql.raw('min') : sql.raw('least');
  const greatest = sqlite ? sql.raw('max') : sql.raw('greatest');
  const nowMs = now.getTime();
  const dayRows = sql.join(
    bounds.map((b) => sql`(${b.day}, cast(${b.start} as bigint), cast(${b.end} as bigint))`),
    sql`, `,
  );
  // One row per session and day it touched: the part of the session inside that day. A deleted user's sessions
  // stay one person each; a deleted device's (its row gone) cannot be named and are left out.
  const pieces = sql`
    WITH days(day, day_start, day_end) AS (VALUES ${dayRows}),
    spans AS (
      SELECT s.id AS session_id, s.device_id, s.user_id, ${ms('started_at')} AS started_ms,
             coalesce(${ms('ended_at')}, cast(${nowMs} as bigint)) AS ended_ms
      FROM ${hotdeskSessions} s
      WHERE s.tenant_id = ${tenant.id} AND s.device_id IS NOT NULL
        AND s.started_at < ${timeParameter(db, new Date(Math.min(rangeEnd, nowMs)))}
        AND (s.ended_at IS NULL OR s.ended_at > ${timeParameter(db, new Date(rangeStart))})
    ),
    pieces AS (
      SELECT d.day, d.day_end - d.day_start AS day_ms, sp.session_id, sp.device_id, sp.user_id,
             coalesce(sp.user_id, -sp.session_id) AS person, sp.started_ms,
             ${least}(sp.ended_ms, d.day_end) - ${greatest}(sp.started_ms, d.day_start) AS piece_ms
      FROM days d JOIN spans sp ON sp.started_ms < d.day_end AND sp.ended_ms > d.day_start
    )`;
  const deskColumns = sql`dv.id AS device_id, dv.idle_account, dv.mac, dv.label, dv.location, dv.retired_at IS NOT NULL AS retired`;

  const deskDayRows = await selectRows<DeskRow & { day: string; occupied_ms: number | string; day_ms: number | string; people: number | string }>(
    db,
    sql`${pieces}
      SELECT p.day, max(p.day_ms) AS day_ms, sum(p.piece_ms) AS occupied_ms, count(DISTINCT p.person) AS people, ${deskColumns}
      FROM pieces p JOIN ${devices} dv ON dv.id = p.device_id
      GROUP BY p.day, dv.id, dv.idle_account, dv.mac, dv.label, dv.location, dv.retired_at
      ORDER BY p.day, dv.idle_account`,
  );
  const deskTotalRows = await selectRows<
    DeskRow & { occupied_ms: number | string | null; days_occupied: number | string; people: number | string; sessions: number | string }
  >(
    db,
    sql`${pieces}
      SELECT ${deskColumns}, sum(p.piece_ms) AS occupied_ms, count(DISTINCT p.day) AS days_occupied,
             count(DISTINCT p.person) AS people, count(DISTINCT p.session_id) AS sessions
      FROM ${devices} dv LEFT JOIN pieces p ON p.device_id = dv.id
      WHERE dv.tenant_id = ${tenant.id} AND (dv.retired_at IS NULL OR p.device_id IS NOT NULL)
      GROUP BY dv.id, dv.idle_account, dv.mac, dv.label, dv.location, dv.retired_at`,
  );
  const userRows = await selectRows<
    DeskRow & {
      user_id: number;
      extension: string;
      display_name: string;
      occupied_ms: number | string;
      days_occupied: number | string;
      sessions: number | string;
      last_started_ms: number | string;
    }
  >(
    db,
    sql`${pieces}
      SELECT u.id AS user_id, u.extension, u.display_name, ${deskColumns}, sum(p.piece_ms) AS occupied_ms,
             count(DISTINCT p.day) AS days_occupied, count(DISTINCT p.session_id) AS sessions, max(p.started_ms) AS last_started_ms
      FROM pieces p JOIN ${users} u ON u.id = p.user_id JOIN ${devices} dv ON dv.id = p.device_id
      GROUP BY u.id, u.extension, u.display_name, dv.id, dv.idle_account, dv.mac, dv.label, dv.location, dv.retired_at`,
  );

  const desk = (r: DeskRow): DeskRef => ({
    deviceId: Number(r.device_id),
    idleAccount: r.idle_account,
    mac: r.mac,
    label: r.label,
    location: r.location,
    retired: r.retired === true || Number(r.retired) === 1,
  });
  const deskDays = deskDayRows.map(
    (r): DeskDay => ({
      ...desk(r),
      day: r.day,
      // Sessions on one desk never overlap, but a day is the most a desk can be occupied in it whatever the rows say.
      occupiedMs: Math.min(Number(r.occupied_ms), Number(r.day_ms)),
      people: Number(r.people),
    }),
  );
  const cappedPerDesk = new Map<number, number>();
  for (const d of deskDays) cappedPerDesk.set(d.deviceId, (cappedPerDesk.get(d.deviceId) ?? 0) + d.occupiedMs);
  const desks = deskTotalRows
    .map(
      (r): DeskTotal => ({
        ...desk(r),
        occupiedMs: cappedPerDesk.get(Number(r.device_id)) ?? 0,
        daysOccupied: Number(r.days_occupied),
        people: Number(r.people),
        sessions: Number(r.sessions),
      }),
    )
    .sort((a, b) => b.occupiedMs - a.occupiedMs || a.idleAccount.localeCompare(b.idleAccount));
  const userDesks = userRows
    .map(
      (r): UserDesk => ({
        ...desk(r),
        userId: Number(r.user_id),
        extension: r.extension,
        displayName: r.display_name,
        occupiedMs: Number(r.occupied_ms),
        daysOccupied: Number(r.days_occupied),
        sessions: Number(r.sessions),
        lastStartedAt: new Date(Number(r.last_started_ms)),
      }),
    )
    .sort((a, b) => a.extension.localeCompare(b.extension, undefined, { numeric: true }) || b.occupiedMs - a.occupiedMs);
  return { timeZone: zone, from: range.from, to: range.to, days, desks, deskDays, users: userDesks };
}

/** Hours with one decimal, as a report shows them. */
export const hoursOf = (ms: number): number => Math.round(ms / 360_000) / 10;
