import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PROMPTS } from '../src/domain/featureCodes.ts';
import { parseSipUri } from '../src/sip/message.ts';
import { loadVendorAdapters } from '../src/vendors/adapters.ts';
import {
  AsteriskConfigError,
  type DialplanFunction,
  dialplanFunctions,
  dialplanGlobals,
  dialplanSteps,
  parseAsteriskConfig,
  runDialplan,
  section,
} from './helpers/asteriskConfig.ts';
import { startTestServer, TEST_TOKEN, type TestServer } from './helpers/server.ts';
import { callAs, tenantWithToken } from './helpers/tenants.ts';

/** The PBX examples in contrib/ make exactly the API calls hotprov answers, and handle every answer it gives. */
const read = (path: string) => readFileSync(new URL(`../contrib/${path}`, import.meta.url), 'utf8');
const asterisk = read('asterisk/extensions_hotprov.conf');
const lua = read('freeswitch/scripts/hotprov.lua');

/** What Asterisk has on record for the calling phone: its endpoint's AORs, each AOR's contact ids, each contact's URI. */
interface Registrations {
  readonly aors: Readonly<Record<string, string>>;
  readonly contacts: Readonly<Record<string, string>>;
  readonly uris: Readonly<Record<string, string>>;
}

/**
 * Runs the dialplan's contact lookup (from the DEVICE step to the `contacted` label) for a call from HD0001 that
 * arrived from 127.0.0.10:50123, with the PJSIP functions answering from `on` as their documentation says
 * (an unknown object or field reads as empty), and returns the CONTACT it sends to hotprov.
 */
function contactFor(on: Registrations): string {
  const steps = dialplanSteps(
    section(
      parseAsteriskConfig(
        'extensions.conf',
        (name) => ({ 'extensions.conf': '[globals]\n#include extensions_hotprov.conf\n', 'extensions_hotprov.conf': asterisk })[name],
      ),
      'hotprov-code',
    ) ?? { name: '', template: false, variables: [] },
    's',
  );
  const from = steps.findIndex((s) => s.data === 'LOCAL(DEVICE)=${CHANNEL(endpoint)}');
  const field = (args: string[], name: string, table: Readonly<Record<string, string>>) => (args[1] === name ? (table[args[0] ?? ''] ?? '') : '');
  const functions: Record<string, DialplanFunction> = {
    CHANNEL: (args) => ({ endpoint: 'HD0001', 'pjsip,remote_addr': '127.0.0.10:50123' })[args.join(',')] ?? '',
    PJSIP_ENDPOINT: (args) => field(args, 'aors', on.aors),
    PJSIP_AOR: (args) => field(args, 'contact', on.contacts),
    PJSIP_CONTACT: (args) => field(args, 'uri', on.uris),
    CUT: ([name = '', delimiter = '-', n = '1'], variables) => (variables.get(name) ?? '').split(delimiter === '' ? '-' : delimiter)[Number(n) - 1] ?? '',
  };
  assert.ok(from >= 0, 'the DEVICE step is missing');
  return runDialplan(steps, from, 'contacted', functions).get('CONTACT') ?? '';
}

const Contrib = suite<{ t: TestServer }>('contrib PBX examples', { t: undefined as unknown as TestServer });
Contrib.before.each(async (ctx) => {
  const t = await startTestServer();
  ctx.t = t;
  await t.api('POST', '/api/v1/users', { extension: '101', displayName: 'Alice', sipPassword: 'x', pin: '4826' });
  await t.api('POST', '/api/v1/devices', { mac: '00:15:65:12:34:56', vendor: 'yealink', model: 'T46U' });
});
Contrib.after.each(({ t }) => t.close());

const post = async (t: TestServer, path: string, headers: Record<string, string>, body: string) => {
  const res = await fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

Contrib('Asterisk: the CURL call of the dialplan, as Asterisk sends it, logs in', async ({ t }) => {
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
  const body = argument.replace('${DEVICE}', 'HD0001').replace('${DIGITS}', '*35*101*4826').replace('${CONTACT}', 'sip:HD0001@127.0.0.1:5999');
  const answer = await post(t, path, headers, body);
  assert.is(answer.status, 200);
  assert.is(answer.body.result, 'logged_in');
  for (const key of asterisk.matchAll(/JSON_DECODE\(ANSWER,(\w+)\)/g))
    assert.ok(key[1] !== undefined && key[1] in answer.body, `${key[1]} is not in the answer`);
});

Contrib('Asterisk: every result the dialplan branches on is one hotprov gives, and it asks again the way hotprov expects', async ({ t }) => {
  for (const m of asterisk.matchAll(/"\$\{RESULT\}" = "(\w+)"/g)) assert.ok((m[1] ?? '') in PROMPTS, `${m[1]} is not a result`);
  assert.match(asterisk, /Set\(LOCAL\(DIGITS\)=\$\{DIGITS\}\*\$\{EXT\}\)/);
  assert.match(asterisk, /Set\(LOCAL\(DIGITS\)=\$\{DIGITS\}\*\$\{PIN\}\)/);
  // and hotprov accepts those second rounds:
  const asked = await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35' });
  assert.is(asked.body.result, 'need_extension');
  const pin = await t.api('POST', '/api/v1/hotdesk/code', { device: 'HD0001', digits: '*35*101' });
  assert.is(pin.body.result, 'need_pin');
});

Contrib('FreeSWITCH: the body and path of the Lua call log in; every prompt has a sound', async ({ t }) => {
  const format = /string\.format\('(\{"device":"%s","digits":"%s","contact":"%s"\})'/.exec(lua)?.[1];
  const path = /%s(\/hotdesk\/code)'/.exec(lua)?.[1];
  assert.ok(format !== undefined && path !== undefined, 'request not found in hotprov.lua');
  const body = format.replace('%s', 'HD0001').replace('%s', '*35*101*4826').replace('%s', 'sip:HD0001@127.0.0.1:5999');
  const answer = await post(t, path, { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_TOKEN}` }, body);
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

Contrib("pjsip_notify.conf carries each vendor's check-sync event", () => {
  const conf = read('asterisk/pjsip_notify.conf');
  for (const adapter of loadVendorAdapters()) {
    const event = new RegExp(`\\[hotprov-check-sync-${adapter.id}\\]\\nEvent=>([^\\n]+)`).exec(conf)?.[1];
    assert.is(event?.replaceAll('\\;', ';'), adapter.checkSyncEvent, adapter.id);
  }
});

Contrib('Asterisk: when hotprov answers without a result (a refused token), the dialplan plays its fallback', async ({ t }) => {
  // CURL() returns the body whatever the status; without `result` RESULT is empty and the caller hears the
  // "try again later" prompt instead of a wrong "invalid extension".
  const refused = await post(
    t,
    '/hotdesk/code',
    { 'Content-Type': 'application/json', Authorization: 'Bearer wrong-token-0123456789' },
    '{"device":"HD0001","digits":"*35"}',
  );
  assert.is(refused.status, 401);
  assert.not.ok('result' in refused.body);
  const lines = asterisk.split('\n');
  const decode = lines.findIndex((l) => l.includes('Set(LOCAL(RESULT)=${JSON_DECODE(ANSWER,result)})'));
  const guard = lines.findIndex((l) => l.includes('GotoIf($["${RESULT}" = ""]?unanswered)'));
  const branch = lines.findIndex((l) => l.includes('"${RESULT}" = "need_extension"'));
  assert.ok(decode >= 0 && guard > decode && guard < branch, 'an empty RESULT must be caught before any branch on it');
  assert.match(asterisk, /^ same => n\(unanswered\),Answer\(\)\n same => n,Playback\(please-try-call-later\)\n same => n,Return\(\)$/m);
});

Contrib('Asterisk: the contact the phone registered over TLS reaches hotprov as a TLS target', async ({ t }) => {
  const curl = /CURL\(\$\{HOTPROV_API\}(\/[^,]+),(.*)\)\}\)\s*$/m.exec(asterisk);
  const [, path = '', template = ''] = curl ?? [];
  const registered = contactFor({
    aors: { HD0001: 'HD0001' },
    contacts: { HD0001: 'HD0001@@5f3c1a' },
    uris: { 'HD0001@@5f3c1a': 'sip:HD0001@127.0.0.10:5061;transport=tls;ob' },
  });
  const body = template
    .replace(/\\(.)|"/g, (_, kept: string | undefined) => kept ?? '')
    .replace('${DEVICE}', 'HD0001')
    .replace('${DIGITS}', '*35*101*4826')
    .replace('${CONTACT}', registered);
  const answer = await post(t, path, { 'Content-Type': 'application/json', Authorization: `Bearer ${TEST_TOKEN}` }, body);
  assert.is(answer.body.result, 'logged_in');
  const device = await t.api('GET', '/api/v1/devices/001565123456');
  assert.is(device.body.reportedContact, 'sip:HD0001@127.0.0.10:5061;transport=tls;ob');
  assert.equal(parseSipUri(device.body.reportedContact), { user: 'HD0001', host: '127.0.0.10', port: 5061, scheme: 'sip', transport: 'tls' });
});

Contrib("Asterisk: a tenant's context sends its slug and token; the call reaches that tenant, and another tenant's token is refused", async ({ t }) => {
  const acmeToken = await tenantWithToken(t, 'acme', 'Acme');
  const bravoToken = await tenantWithToken(t, 'bravo', 'Bravo');
  await callAs(t, acmeToken, 'PATCH', '/api/v1/tenant', { trustedNetworks: ['127.0.0.0/8'] });
  await callAs(t, acmeToken, 'POST', '/api/v1/users', { extension: '101', displayName: 'Acme Ann', sipPassword: 'acme-sip', pin: '4826' });
  const phone = await callAs(t, acmeToken, 'POST', '/api/v1/devices', { mac: '001565a1a1a1', vendor: 'yealink', model: 'T46U' });
  // The example context, as a provider uncomments it for tenant acme.
  const uncommented = asterisk.replace(/^;(\[hotprov-hotdesk-acme\]|exten => |\s?same => )/gm, '$1');
  const sections = parseAsteriskConfig('extensions.conf', files({ 'extensions_hotprov.conf': uncommented }));
  const tenantContext = section(sections, 'hotprov-hotdesk-acme') ?? { name: '', template: false, variables: [] };
  for (const exten of ['*35', '_*35*X.'])
    assert.is(dialplanSteps(tenantContext, exten)[0]?.data, 'hotprov-code,s,1(${EXTEN},acme,${ACME_HOTPROV_TOKEN})', exten);
  // hotprov-code with those arguments, up to the CURL call: Gosub's ARGn and the global API address set first.
  const code = dialplanSteps(section(sections, 'hotprov-code') ?? { name: '', template: false, variables: [] }, 's');
  const given = [
    ['HOTPROV_API', `${t.url}/api/v1`],
    ['ARG1', '*35*101*4826'],
    ['ARG2', 'acme'],
    ['ARG3', acmeToken],
  ].map(([name, value]) => ({ label: null, app: 'Set', data: `LOCAL(${name})=${value}`, at: 'test' }));
  const variables = runDialplan([...given, ...code], 0, 'tenanted', {});
  assert.is(variables.get('HOTPROV_API'), `${t.url}/api/v1/tenants/acme`);
  const path = /CURL\(\$\{HOTPROV_API\}(\/[^,]+),/.exec(asterisk)?.[1] ?? '';
  const send = (token: string | undefined, slug = 'acme') =>
    fetch(`${t.url}/api/v1/tenants/${slug}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ device: phone.body.idleAccount, digits: '*35*101*4826' }),
    });
  const refused = await send(bravoToken);
  assert.ok(refused.status === 403 || refused.status === 404, `bravo's token at acme answered ${refused.status}`);
  const answer = await send(variables.get('HOTPROV_TOKEN'));
  assert.is(answer.status, 200);
  assert.is(((await answer.json()) as { result: string }).result, 'logged_in');
});

Contrib.run();

/**
 * Asterisk reads these files, not hotprov: parse them the way Asterisk does and check what Asterisk would end
 * up with when they are dropped into a stock configuration.
 */
const Parsed = suite('contrib Asterisk files as Asterisk reads them');

/** extensions.conf as shipped (the layout of Asterisk's sample): [general], its own [globals], contexts, then the include. */
const STOCK_EXTENSIONS = `[general]
static=yes
writeprotect=no
clearglobalvars=no

[globals]
CONSOLE=Console/dsp                             ; Console interface for demo
TRUNK=DAHDI/G2                                  ; Trunk interface
;-- a block comment, as the sample has
[globals]
NOT_A_GLOBAL=1
--;

[default]
exten => 1000,1,Playback(hello-world)

[phones]
include => default
include => hotprov-hotdesk

#include extensions_hotprov.conf
`;
const files =
  (extra: Record<string, string> = {}) =>
  (name: string) =>
    ({ 'extensions.conf': STOCK_EXTENSIONS, 'extensions_hotprov.conf': asterisk, ...extra })[name];

Parsed('the globals are set when the file is included after a stock extensions.conf with its own [globals]', () => {
  const globals = dialplanGlobals(parseAsteriskConfig('extensions.conf', files()));
  assert.is(globals.get('HOTPROV_API'), 'http://hotprov.example.com:8080/api/v1');
  assert.is(globals.get('HOTPROV_TOKEN'), 'replace-with-the-api-token');
  assert.is(globals.get('CONSOLE'), 'Console/dsp', "the PBX's own globals stay");
  assert.not.ok(globals.has('NOT_A_GLOBAL'), 'text in a block comment is not read');
  // Every global the dialplan uses is one Asterisk has.
  for (const m of asterisk.matchAll(/\$\{(HOTPROV_\w+)\}/g)) assert.ok(globals.has(m[1] ?? ''), `${m[1]} is used but not set`);
});

Parsed('a plain [globals] in the included file would be ignored: the reason for (+)', () => {
  const plain = asterisk.replace('[globals](+)', '[globals]');
  const globals = dialplanGlobals(parseAsteriskConfig('extensions.conf', files({ 'extensions_hotprov.conf': plain })));
  assert.not.ok(globals.has('HOTPROV_API'));
});

Parsed('included before the PBX has a [globals], Asterisk refuses the addition (the README says: at the end)', () => {
  const early = `#include extensions_hotprov.conf\n${STOCK_EXTENSIONS.replace('#include extensions_hotprov.conf', '')}`;
  assert.throws(
    () => parseAsteriskConfig('extensions.conf', files({ 'extensions.conf': early })),
    (e: unknown) => e instanceof AsteriskConfigError && /category 'globals' does not exist/.test(e.message),
  );
  assert.match(read('asterisk/README.md'), /#include extensions_hotprov\.conf` at the\s+\*\*end\*\* of `extensions\.conf`/);
});

Parsed('the parser follows templates, additions and includes the way config.c does', () => {
  const sections = parseAsteriskConfig(
    'a.conf',
    (name) =>
      ({
        'a.conf': '[base](!)\nrole = tpl\n[one](base)\nown = 1\n#include b.conf\n[one](+)\nlate = 2\nescaped = a\\;b ; comment\n',
        'b.conf': '[two]\nx => y\n',
      })[name],
  );
  assert.equal(
    sections.map((s) => [s.name, s.template]),
    [
      ['base', true],
      ['one', false],
      ['two', false],
    ],
  );
  assert.equal(
    section(sections, 'one')?.variables.map((v) => `${v.name}=${v.value}`),
    ['role=tpl', 'own=1', 'late=2', 'escaped=a;b'],
  );
  assert.is(section(sections, 'two')?.variables[0]?.object, true);
  assert.throws(() => parseAsteriskConfig('c.conf', () => 'x = 1\n'), /before any \[section\]/);
});

Parsed('the dialplan waits for hotprov a bounded time and every label it jumps to exists', () => {
  const sections = parseAsteriskConfig('extensions.conf', files());
  const globals = dialplanGlobals(sections);
  const code = section(sections, 'hotprov-code');
  assert.ok(code !== undefined);
  const steps = code.variables.map((v) => v.value);
  assert.ok(steps.includes('n,Set(CURLOPT(conntimeout)=${HOTPROV_CONNECT_TIMEOUT})'));
  assert.ok(steps.includes('n,Set(CURLOPT(httptimeout)=${HOTPROV_ANSWER_TIMEOUT})'));
  assert.ok(Number(globals.get('HOTPROV_CONNECT_TIMEOUT')) > 0 && Number(globals.get('HOTPROV_ANSWER_TIMEOUT')) > 0);
  const timeouts = steps.findIndex((v) => v.includes('CURLOPT(conntimeout)'));
  const call = steps.findIndex((v) => v.includes('${CURL('));
  assert.ok(timeouts >= 0 && timeouts < call, 'the time-outs are set before the first call');
  const labels = new Set(steps.flatMap((v) => /^n\((\w+)\)/.exec(v)?.slice(1) ?? []));
  for (const v of steps) {
    for (const m of v.matchAll(/(?:\?|:|Goto\()(\w+)\)/g))
      if (!['Return', 'Answer'].includes(m[1] ?? '')) assert.ok(labels.has(m[1] ?? ''), `no label ${m[1]}`);
  }
});

/**
 * Asterisk's English core sounds the dialplan and hotprov's prompts may name, with their words.
 * Source: Debian package asterisk-core-sounds-en 1.6.1-1, /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
 * (the index shipped in Asterisk's asterisk-core-sounds-en tarball).
 */
const CORE_SOUNDS: Readonly<Record<string, string>> = {
  activated: 'Activated.',
  'de-activated': 'De-activated.',
  extension: 'Extension.',
  'confbridge-pin': 'Please enter your personal identification number followed by the pound, or hash key.',
  'confbridge-pin-bad': 'You have entered too many invalid personal identification numbers.',
  'vm-incorrect': 'Login incorrect.',
  'feature-not-avail-line': 'That feature is not available on this line.',
  'pbx-invalid': "I am sorry, that's not a valid extension.  Please try again.",
  'cannot-complete-as-dialed': 'Your call cannot be completed as dialed.',
  'please-try-call-later': 'Please try your call again later.',
  'vm-goodbye': 'Goodbye',
  'hello-world': 'Hello world.',
};

Parsed('every sound the dialplan plays and every prompt hotprov answers is an Asterisk core sound', () => {
  const named = new Set<string>(Object.values(PROMPTS));
  for (const m of asterisk.matchAll(/Playback\(([^)$]+)\)/g)) named.add(m[1] ?? '');
  for (const m of asterisk.matchAll(/\?([a-z][\w-]*):\$\{PROMPT\}/g)) named.add(m[1] ?? '');
  for (const m of asterisk.matchAll(/Read\(\w+,([a-z][\w-]*),/g)) named.add(m[1] ?? '');
  assert.ok(named.size >= 10, 'the sounds were not found');
  for (const sound of named) assert.ok(sound in CORE_SOUNDS, `${sound} is not an Asterisk core sound`);
  // None of the call-centre agent sounds ("Agent logged in") for a hot desk.
  for (const sound of named) assert.not.match(sound, /^agent-/);
});

Parsed('the AMI user may only send what the relay needs, from loopback unless widened', () => {
  const sections = parseAsteriskConfig('manager.conf', (name) =>
    name === 'manager.conf' ? '[general]\nenabled = yes\n#include manager_hotprov.conf\n' : read(`asterisk/${name}`),
  );
  const user = new Map(section(sections, 'hotprov')?.variables.map((v) => [v.name, v.value]));
  assert.is(user.get('write'), 'system');
  assert.is(user.get('read'), '');
  assert.equal(
    section(sections, 'hotprov')
      ?.variables.filter((v) => v.name === 'deny' || v.name === 'permit')
      .map((v) => `${v.name} ${v.value}`),
    ['deny 0.0.0.0/0.0.0.0', 'permit 127.0.0.1/255.255.255.255'],
  );
  assert.match(read('asterisk/README.md'), /add a `permit` line with that host's address/);
});

Parsed("pjsip_notify.conf, read as Asterisk reads it, carries each vendor's check-sync event", () => {
  const sections = parseAsteriskConfig('pjsip_notify.conf', (name) => read(`asterisk/${name}`));
  for (const adapter of loadVendorAdapters()) {
    const event = section(sections, `hotprov-check-sync-${adapter.id}`)?.variables.find((v) => v.name === 'Event');
    assert.is(event?.value, adapter.checkSyncEvent, adapter.id);
    assert.is(event?.object, true);
  }
});

/**
 * Every dialplan application and function the contrib dialplan uses, with the page that documents it and the
 * Asterisk that has it. The PJSIP lookups are read with the fields their pages list.
 */
const APPLICATIONS: Readonly<Record<string, string>> = {
  Set: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Set',
  Gosub: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Gosub',
  Return: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Return',
  GotoIf: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/GotoIf',
  Goto: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Goto',
  Answer: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Answer',
  Playback: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Playback',
  Read: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Read',
  Hangup: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Applications/Hangup',
};
const FUNCTIONS: Readonly<Record<string, string>> = {
  LOCAL: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Functions/LOCAL (app_stack, with Gosub)',
  CHANNEL: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Functions/CHANNEL (endpoint; pjsip,remote_addr for chan_pjsip)',
  IF: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Functions/IF',
  CUT: 'docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/Dialplan_Functions/CUT (CUT(varname,char-delim,range-spec): a variable name, not a value; since 1.2.0)',
  CURL: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Functions/CURL (func_curl)',
  CURLOPT: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Functions/CURLOPT (func_curl: conntimeout, httptimeout, httpheader)',
  JSON_DECODE: 'docs.asterisk.org/Latest_API/API_Documentation/Dialplan_Functions/JSON_DECODE (func_json: 16.24, 18.10, 19.2)',
  PJSIP_ENDPOINT:
    'docs.asterisk.org/Asterisk_16_Documentation/API_Documentation/Dialplan_Functions/PJSIP_ENDPOINT (PJSIP_ENDPOINT(name,field); field aors: "AoR(s) to be used with the endpoint", comma-separated)',
  PJSIP_AOR:
    'docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/Dialplan_Functions/PJSIP_AOR (PJSIP_AOR(name,field), since 13.2.0; field contact: permanent and dynamic contact ids, comma-separated; asterisk/asterisk issue #990)',
  PJSIP_CONTACT:
    'docs.asterisk.org/Asterisk_21_Documentation/API_Documentation/Dialplan_Functions/PJSIP_CONTACT (PJSIP_CONTACT(name,field), since 13.2.0; name: the contact id PJSIP_AOR returns; field uri: "SIP URI to contact peer")',
};
/** The only field each PJSIP lookup is read with, as its documentation names it. */
const PJSIP_FIELDS: Readonly<Record<string, string>> = { PJSIP_ENDPOINT: 'aors', PJSIP_AOR: 'contact', PJSIP_CONTACT: 'uri' };

Parsed('every application and function the dialplan uses is a documented one, the PJSIP lookups with their documented fields', () => {
  const sections = parseAsteriskConfig('extensions.conf', files());
  const steps = [...dialplanSteps(section(sections, 'hotprov-code') ?? { name: '', template: false, variables: [] }, 's')];
  for (const exten of ['*35', '_*35*X.'])
    steps.push(...dialplanSteps(section(sections, 'hotprov-hotdesk') ?? { name: '', template: false, variables: [] }, exten));
  assert.ok(steps.length > 30, 'the dialplan steps were not found');
  for (const step of steps) {
    assert.ok(step.app in APPLICATIONS, `${step.at}: ${step.app}() has no source`);
    for (const fn of dialplanFunctions(step.data)) assert.ok(fn in FUNCTIONS, `${step.at}: ${fn}() has no source`);
  }
  const used = new Set(steps.flatMap((s) => [...dialplanFunctions(s.data)]));
  for (const fn of ['PJSIP_ENDPOINT', 'PJSIP_AOR', 'PJSIP_CONTACT', 'CUT']) assert.ok(used.has(fn), `${fn} is no longer used: drop it from the list`);
  for (const [fn, fieldName] of Object.entries(PJSIP_FIELDS)) {
    const calls = [...asterisk.matchAll(new RegExp(`\\$\\{${fn}\\(\\$\\{(\\w+)\\},(\\w+)\\)\\}`, 'g'))];
    assert.ok(calls.length > 0, `${fn}(\${NAME},field) not found`);
    for (const call of calls) assert.is(call[2], fieldName, fn);
  }
  // The README says which Asterisk has them.
  assert.match(read('asterisk/README.md'), /PJSIP_ENDPOINT\(\)`?, `?PJSIP_AOR\(\)`? and `?PJSIP_CONTACT\(\)[^.]*13\.2/);
});

Parsed("the contact sent is the one the phone registered (transport and port included), the call's address when none is on record", () => {
  const tls = 'sip:HD0001@127.0.0.10:5061;transport=tls;ob';
  assert.is(contactFor({ aors: { HD0001: 'HD0001' }, contacts: { HD0001: 'HD0001@@5f3c1a' }, uris: { 'HD0001@@5f3c1a': tls } }), tls);
  // Several AORs or contacts: the first of each.
  assert.is(
    contactFor({
      aors: { HD0001: 'desk-HD0001,spare' },
      contacts: { 'desk-HD0001': 'desk-HD0001@@aa,desk-HD0001@@bb', spare: 'spare@@cc' },
      uris: {
        'desk-HD0001@@aa': 'sip:HD0001@[2001:db8::5]:5062;transport=tcp',
        'desk-HD0001@@bb': 'sip:HD0001@192.0.2.99:5060',
        'spare@@cc': 'sip:x@192.0.2.98',
      },
    }),
    'sip:HD0001@[2001:db8::5]:5062;transport=tcp',
  );
  const fallback = 'sip:HD0001@127.0.0.10:50123';
  assert.is(contactFor({ aors: {}, contacts: {}, uris: {} }), fallback, 'an endpoint without AORs');
  assert.is(contactFor({ aors: { HD0001: 'HD0001' }, contacts: {}, uris: {} }), fallback, 'an AOR without a registration');
  assert.is(contactFor({ aors: { HD0001: 'HD0001' }, contacts: { HD0001: 'HD0001@@gone' }, uris: {} }), fallback, 'a contact that expired meanwhile');
  assert.throws(() => runDialplan([{ label: null, app: 'Set', data: 'LOCAL(X)=${SHELL(id)}', at: 't' }], 0, 'end', {}), /does not model SHELL/);
});

Parsed.run();
