/**
 * Takes the screenshots of the console shown in the README: `npm run screenshots` (needs Debian's chromium).
 * A hotprov with demo data on a throwaway database; the pictures go to docs/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONSOLE_PASSWORD, launchBrowser, signInToConsole } from '../helpers/browser.ts';
import { startTestServer } from '../helpers/server.ts';

const OUT = fileURLToPath(new URL('../../docs/screenshots', import.meta.url));
mkdirSync(OUT, { recursive: true });

/** The clock hotprov reads: set back while the last weeks' sessions are made, then the real time again. */
let clock: Date | null = null;
const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD }, now: () => clock ?? new Date() });
const people = [
  ['101', 'Alice Martin'],
  ['102', 'Bram de Vries'],
  ['103', 'Chiara Rossi'],
  ['104', 'Dieter Weber'],
];
for (const [extension, displayName] of people) {
  await t.api('POST', '/api/v1/users', {
    extension,
    displayName,
    sipPassword: `secret-${extension}`,
    pin: '4826',
    keys: people.filter(([e]) => e !== extension).map(([e, n]) => ({ type: 'blf', value: e, label: n?.split(' ')[0] })),
  });
}
const phones = [
  ['00:15:65:10:00:01', 'yealink', 'T54W', 'Window desk 1', 'Floor 2, east'],
  ['00:15:65:10:00:02', 'yealink', 'T46U', 'Window desk 2', 'Floor 2, east'],
  ['00:04:13:10:00:03', 'snom', 'D785', 'Quiet room', 'Floor 2, west'],
  ['00:04:f2:10:00:04', 'polycom', 'VVX450', 'Reception', 'Ground floor'],
] as const;
for (const [mac, vendor, model, label, location] of phones) await t.api('POST', '/api/v1/devices', { mac, vendor, model, label, location });
// Two weeks of working days for the occupancy page: each person at a desk for part of the day.
const today = new Date();
for (let daysAgo = 14; daysAgo >= 1; daysAgo--) {
  const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - daysAgo));
  if (day.getUTCDay() === 0 || day.getUTCDay() === 6) continue;
  for (const [i, [extension]] of people.entries()) {
    const desk = `HD000${((i + daysAgo) % phones.length) + 1}`;
    const at = (hour: number) => new Date(day.getTime() + hour * 3600_000);
    clock = at(8 + ((i + daysAgo) % 3));
    await t.api('POST', '/api/v1/hotdesk/login', { device: desk, extension, pin: '4826' });
    clock = at(12 + ((i * 2 + daysAgo) % 6));
    await t.api('POST', '/api/v1/hotdesk/logout', { device: desk });
  }
}
clock = null;
await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0001', extension: '101', pin: '4826' });
await t.api('POST', '/api/v1/hotdesk/login', { device: 'HD0003', extension: '103', pin: '4826' });

const browser = await launchBrowser();
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await signInToConsole(page, t.url);
const shots: [string, string][] = [
  ['board', '/console/'],
  ['devices', '/console/devices'],
  ['user', '/console/users/101'],
  ['template', '/console/templates/yealink/device.cfg'],
  ['settings', '/console/settings'],
  ['occupancy', '/console/occupancy'],
];
for (const [name, path] of shots) {
  await page.goto(`${t.url}${path}`);
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: false });
}
// The board on a phone's width.
const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
await signInToConsole(phone, t.url);
await phone.screenshot({ path: `${OUT}/board-phone.png`, fullPage: false });
await browser.close();
await t.close();
process.stdout.write(`wrote ${shots.length + 1} screenshots to ${OUT}\n`);
