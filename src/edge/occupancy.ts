import { z } from 'zod';
import { formatMac, type Mac } from '../domain/mac.ts';
import { hoursOf, type OccupancyReport } from '../domain/occupancy.ts';
import type { OccupancyReportView } from './views.ts';

const mac = (stored: string) => formatMac(stored as Mac);

/** What an occupancy CSV lists, one row each: a desk on a day it was used, a desk, or a user at a desk. */
export const OCCUPANCY_VIEWS = ['day', 'desk', 'user'] as const;
export type OccupancyView = (typeof OCCUPANCY_VIEWS)[number];

/** A query field: trimmed; missing, or given twice, is blank. */
const field = z.preprocess((v) => (typeof v === 'string' ? v.trim() : ''), z.string());

/** The query of an occupancy report (the console's range form, the API's): days as YYYY-MM-DD, and which CSV. */
export const OccupancyQuery = z.object({
  from: field,
  to: field,
  view: z.preprocess((v) => (typeof v === 'string' ? v : 'day'), z.enum(OCCUPANCY_VIEWS)),
  /** The API answers JSON unless asked for CSV (the console has its own .csv route). */
  format: z.preprocess((v) => (typeof v === 'string' ? v : 'json'), z.enum(['json', 'csv'])),
});

/** The report as the API answers it: hours with one decimal, days in the tenant's zone (named in `timeZone`). */
export function presentOccupancy(r: OccupancyReport): z.output<typeof OccupancyReportView> {
  return {
    timeZone: r.timeZone,
    from: r.from,
    to: r.to,
    desks: r.desks.map((d) => ({
      device: d.idleAccount,
      mac: mac(d.mac),
      label: d.label,
      location: d.location,
      retired: d.retired,
      hours: hoursOf(d.occupiedMs),
      daysOccupied: d.daysOccupied,
      people: d.people,
      sessions: d.sessions,
    })),
    days: r.deskDays.map((d) => ({ day: d.day, device: d.idleAccount, label: d.label, hours: hoursOf(d.occupiedMs), people: d.people })),
    users: r.users.map((u) => ({
      extension: u.extension,
      displayName: u.displayName,
      device: u.idleAccount,
      label: u.label,
      hours: hoursOf(u.occupiedMs),
      daysOccupied: u.daysOccupied,
      sessions: u.sessions,
      lastStartedAt: u.lastStartedAt.toISOString(),
    })),
  };
}

/** The rows of one view of the report, for a CSV: the header, then one row per line. */
export function occupancyTable(r: OccupancyReport, view: OccupancyView): { header: string[]; rows: unknown[][] } {
  switch (view) {
    case 'day':
      return {
        header: ['day', 'time_zone', 'device', 'mac', 'label', 'location', 'hours', 'people'],
        rows: r.deskDays.map((d) => [d.day, r.timeZone, d.idleAccount, mac(d.mac), d.label, d.location, hoursOf(d.occupiedMs), d.people]),
      };
    case 'desk':
      return {
        header: ['from', 'to', 'time_zone', 'device', 'mac', 'label', 'location', 'hours', 'days_occupied', 'people', 'sessions'],
        rows: r.desks.map((d) => [
          r.from,
          r.to,
          r.timeZone,
          d.idleAccount,
          mac(d.mac),
          d.label,
          d.location,
          hoursOf(d.occupiedMs),
          d.daysOccupied,
          d.people,
          d.sessions,
        ]),
      };
    case 'user':
      return {
        header: ['from', 'to', 'time_zone', 'extension', 'display_name', 'device', 'label', 'hours', 'days_occupied', 'sessions', 'last_started_at'],
        rows: r.users.map((u) => [
          r.from,
          r.to,
          r.timeZone,
          u.extension,
          u.displayName,
          u.idleAccount,
          u.label,
          hoursOf(u.occupiedMs),
          u.daysOccupied,
          u.sessions,
          u.lastStartedAt.toISOString(),
        ]),
      };
  }
}
