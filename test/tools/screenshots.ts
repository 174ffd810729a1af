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

const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
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
];
for (const [name, path] of shots) {
  await page.goto(`${t.url}${path}`);
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: false });
}
await browser.close();
await t.close();
process.stdout.write(`wrote ${shots.length} screenshots to ${OUT}\n`);
