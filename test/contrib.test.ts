import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PROMPTS } from '../src/domain/featureCodes.ts';
import { loadVendorAdapters } from '../src/vendors/index.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from './helpers/server.ts';

/** The PBX examples in contrib/ make exactly the API calls hotprov answers, and handle every answer it gives. */
const read = (path: string) => readFileSync(new URL(`../contrib/${path}`, import.meta.url), 'utf8');
const asterisk = read('asterisk/extensions_hotprov.conf');
const lua = read('freeswitch/scripts/hotprov.lua');

let t: TestServer;
const Contrib = suite('contrib PBX examples');
Contrib.before.each(async () => {
  t = await startTestServer();
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'x', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T46U' });
});
Contrib.after.each(() => t.close());

const post = async (path: string, headers: Record<string, string>, body: string) => {
  const res = await fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

Contrib('Asterisk: the CURL call of the dialplan, as Asterisk sends it, logs in', async () => {
  const curl = /CURL\(\$\{HOTPROV_API\}(\/[^,]+),(.*)\)\}\)\s*$/m.exec(asterisk);
  assert.ok(/^ same => n\(ask\),Set\(LOCAL\(ANSWER\)=\$\{CURL/m.test(asterisk), 'the loop must not add the headers again');
  assert.ok(curl !== null, 'no CURL() call found');
  const [, path = '', template = ''] = curl;
  const headers = Object.fromEntries(
    [...asterisk.matchAll(/CURLOPT\(httpheader\)=([^:]+): (.*)\)\s*$/gm)].map((m) => [m[1] ?? '', (m[2] ?? '').replace('${HOTPROV_TOKEN}', TEST_TOKEN)]),
  );
  // Asterisk's argument parser (ast_app_separate_args): a backslash keeps the next character, an unescaped
  // quote only groups and is dropped.
  const argument = template.replace(/\\(.)|"/g, (_, kept: string | undefined) => kept ?? '');
  const body = argument
    .replace('${DEVICE}', 'HD0001')
    .replace('${DIGITS}', '*35*101*4826')
    .replace('${CONTACT}', 'sip:HD0001@127.0.0.1:5999');
  const answer = await post(path, headers, body);
  assert.is(answer.status, 200);
  assert.is(answer.body.result, 'logged_in');
  for (const key of asterisk.matchAll(/JSON_DECODE\(ANSWER,(\w+)\)/g)) assert.ok(key[1] !== undefined && key[1] in answer.body, `${key[1]} is not in the answer`);
});

Contrib('Asterisk: every result the dialplan branches on is one hotprov gives, and it asks again the way hotprov expects', async () => {
  for (const m of asterisk.matchAll(/"\$\{RESULT\}" = "(\w+)"/g)) assert.ok((m[1] ?? '') in PROMPTS, `${m[1]} is not a result`);
  assert.match(asterisk, /Set\(LOCAL\(DIGITS\)=\$\{DIGITS\}\*\$\{EXT\}\)/);
  assert.match(asterisk, /Set\(LOCAL\(DIGITS\)=\$\{DIGITS\}\*\$\{PIN\}\)/);
  // and hotprov accepts those second rounds:
  const asked = await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35' });
  assert.is(asked.body.result, 'need_extension');
  const pin = await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*101' });
  assert.is(pin.body.result, 'need_pin');
});

Contrib('FreeSWITCH: the body and path of the Lua call log in; every prompt has a sound', async () => {
  const format = /string\.format\('(\{"device":"%s","digits":"%s","contact":"%s"\})'/.exec(lua)?.[1];
  const path = /%s(\/hotdesk\/code)'/.exec(lua)?.[1];
  assert.ok(format !== undefined && path !== undefined, 'request not found in hotprov.lua');
  const body = format.replace('%s', 'HD0001').replace('%s', '*35*101*4826').replace('%s', 'sip:HD0001@127.0.0.1:5999');
  const answer = await post(path, { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_TOKEN}` }, body);
  assert.is(answer.body.result, 'logged_in');
  for (const prompt of new Set(Object.values(PROMPTS))) assert.ok(lua.includes(`["${prompt}"]`), `no sound for ${prompt}`);
});

Contrib('FreeSWITCH: the dialplan sends exactly the feature codes to the script', () => {
  const xml = read('freeswitch/dialplan/hotprov.xml');
  const expression = /expression="([^"]+)"/.exec(xml)?.[1] ?? '';
  const pattern = new RegExp(expression);
  for (const digits of ['*35', '*35*101', '*35*101*4826']) assert.ok(pattern.test(digits), digits);
  for (const digits of ['*351', '*36', '*35*1*2*3', '101']) assert.not.ok(pattern.test(digits), digits);
});

Contrib('pjsip_notify.conf carries each vendor\'s check-sync event', () => {
  const conf = read('asterisk/pjsip_notify.conf');
  for (const adapter of loadVendorAdapters()) {
    const event = new RegExp(`\\[hotprov-check-sync-${adapter.id}\\]\\nEvent=>([^\\n]+)`).exec(conf)?.[1];
    assert.is(event?.replaceAll('\\;', ';'), adapter.checkSyncEvent, adapter.id);
  }
});

Contrib.run();
