import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHotprov } from '../../src/composition.ts';
import { deleteDevice, enrolDevice, updateDevice } from '../../src/domain/devices.ts';
import { login } from '../../src/domain/hotdesk.ts';
import { findDeviceById } from '../../src/domain/lookup.ts';
import { updateTenant } from '../../src/domain/tenants.ts';
import { createUser } from '../../src/domain/users.ts';
import { silentLogger } from '../../src/log.ts';
import { checkTemplate } from '../../src/provisioning/templateCheck.ts';
import { loadVendorAdapters } from '../../src/vendors/adapters.ts';
import { digitsExcept } from '../../src/vendors/digitMap.ts';
import { nightlyPollSlot, timeZoneRules } from '../../src/vendors/phoneSettings.ts';
import { GOLDEN_USER_KEYS, type GoldenFile, renderGoldenFiles, settingKeys, settingNames } from '../helpers/golden.ts';
import { TEST_TOKEN, testConfig } from '../helpers/server.ts';

/**
 * What a real office needs from every model's files (issue 13): lamps that stay lit, a poll that catches a lost
 * NOTIFY, a logout that wipes what the user left, emergency numbers that dial at once, BLF pickup, and the basics
 * a tenant sets (clock, language, voicemail, codecs, SRTP) written in each vendor's documented form.
 */

// --- digit maps, read the way the phones read them (RFC 3435: x, [..], '.', T)

/** A digit-map element as a regular expression over what is dialled; T (the timer) matches nothing. */
function elementRegex(element: string): RegExp {
  let re = '';
  for (let i = 0; i < element.length; i++) {
    const c = element[i] ?? '';
    if (c === 'x') re += '[0-9]';
    else if (c === '[') {
      const end = element.indexOf(']', i);
      re += `[${element.slice(i + 1, end)}]`;
      i = end;
    } else if (c === '.') re += '*';
    else if (c === 'T') continue;
    else re += c.replace(/[*+]/, (m) => `\\${m}`);
  }
  return new RegExp(`^(?:${re})$`);
}

const elementsOf = (map: string) => map.split('|').map((e) => ({ text: e, re: elementRegex(e) }));

/** Every digit string of length 1..n. */
function* digitStrings(n: number): Generator<string> {
  for (let len = 1; len <= n; len++) {
    for (let i = 0; i < 10 ** len; i++) yield String(i).padStart(len, '0');
  }
}

/** The number dials the moment its last digit is pressed: it matches, and nothing longer it begins could still match. */
function dialsAtOnce(map: string, number: string, maxLength: number): string | null {
  const elements = elementsOf(map);
  if (!elements.some((e) => e.re.test(number) && !e.text.endsWith('T'))) return `${number} matches no element without the timer`;
  for (const suffix of digitStrings(maxLength - number.length)) {
    const longer = elements.find((e) => e.re.test(number + suffix));
    if (longer !== undefined) return `${number}${suffix} still matches ${longer.text}, so ${number} waits for the timer`;
  }
  return null;
}

const Maps = suite('digit maps');

Maps('emergency numbers are excluded from extensions without losing any other extension', () => {
  const patterns = digitsExcept(4, ['112', '911']);
  const res = patterns.map(elementRegex);
  for (const s of digitStrings(4)) {
    if (s.length !== 4) continue;
    const allowed = !s.startsWith('112') && !s.startsWith('911');
    assert.is(
      res.some((r) => r.test(s)),
      allowed,
      s,
    );
  }
  assert.equal(digitsExcept(3, []), ['xxx']);
  assert.equal(digitsExcept(2, ['112']), ['xx'], 'shorter extensions are not touched');
  assert.equal(digitsExcept(3, ['1']), ['[02-9]xx']);
});

Maps('a nightly slot is inside the window, the same for a phone every time, and spread over a building', () => {
  const slots = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const mac = `001565${String(i).padStart(6, '0')}`;
    const { at } = nightlyPollSlot(mac, '23:00', '01:00');
    assert.ok(at >= '23:00' || at < '01:00', at);
    assert.equal(nightlyPollSlot(mac, '23:00', '01:00').at, at);
    slots.add(at);
  }
  assert.ok(slots.size > 80, `200 phones share only ${slots.size} minutes`);
});

Maps('time zones become the rules phones take: offset, and DST as month, week (5 = last), weekday (7 = Sunday), hour', () => {
  assert.equal(timeZoneRules('Europe/Amsterdam', 2026), {
    iana: 'Europe/Amsterdam',
    standardOffsetMinutes: 60,
    dst: { saveMinutes: 60, start: { month: 3, week: 5, weekday: 7, hour: 2 }, end: { month: 10, week: 5, weekday: 7, hour: 3 } },
  });
  assert.equal(timeZoneRules('America/New_York', 2026).dst?.start, { month: 3, week: 2, weekday: 7, hour: 2 });
  assert.equal(timeZoneRules('America/New_York', 2026).dst?.end, { month: 11, week: 1, weekday: 7, hour: 2 });
  assert.equal(timeZoneRules('Asia/Kolkata', 2026), { iana: 'Asia/Kolkata', standardOffsetMinutes: 330, dst: null });
});
Maps.run();

// --- every model with the default tenant: the golden files

const files: GoldenFile[] = await renderGoldenFiles();
const documented = new Map(loadVendorAdapters().map((a) => [a.id as string, a.profile.settings]));
/** A phone's own settings file: Yealink <mac>.cfg, Snom <MAC>.xml, Poly <mac>-hotprov.cfg. */
const isDeviceFile = (path: string) => /^yealink\/.*\/[0-9a-f]{12}\.cfg$|^snom\/.*\/[0-9A-F]{12}\.xml$|^polycom\/.*-hotprov\.cfg$/.test(path);
const deviceFiles = (mode: 'idle' | 'user' | 'retired') => files.filter((f) => f.path.includes(`/${mode}/`) && isDeviceFile(f.path));
const vendorOf = (f: GoldenFile) => f.path.split('/')[0];
const models = new Set(files.filter((f) => f.path.includes('/idle/')).map((f) => f.path.split('/').slice(0, 2).join('/')));

const Defaults = suite('every model, default tenant');

Defaults('there is a device file per model and mode to check', () => {
  for (const mode of ['idle', 'user', 'retired'] as const) assert.is(deviceFiles(mode).length, models.size, mode);
});

for (const file of [...deviceFiles('idle'), ...deviceFiles('user'), ...deviceFiles('retired')]) {
  Defaults(`${file.path}: lamps, poll, pickup, trust`, () => {
    const body = file.body;
    switch (vendorOf(file)) {
      case 'polycom':
        // Only check-sync is challenged: the PBX's dialog and message-summary NOTIFYs reach the phone.
        assert.match(body, /voIpProt\.SIP\.requestValidation\.1\.request="NOTIFY"/);
        assert.match(body, /voIpProt\.SIP\.requestValidation\.1\.request\.1\.event="check-sync"/);
        assert.match(body, /prov\.polling\.enabled="1"\s+prov\.polling\.mode="rel"\s+prov\.polling\.period="3600"/);
        assert.match(body, /call\.directedCallPickupString="\*8"/);
        break;
      case 'yealink':
        assert.match(body, /^static\.auto_provision\.repeat\.enable = 1\nstatic\.auto_provision\.repeat\.minutes = 60$/m);
        assert.match(body, /^features\.pickup\.direct_pickup_code = \*8$/m);
        // Direct NOTIFY mode still takes SIP from the registrar only (relay is the supported mode for Yealink).
        assert.match(body, /^sip\.trust_ctrl = 1$/m);
        break;
      case 'snom':
        assert.match(body, /<prov_polling_enabled perm="R">on<\/prov_polling_enabled>/);
        assert.match(body, /<prov_polling_period perm="R">3600<\/prov_polling_period>/);
        break;
    }
  });
}

for (const file of deviceFiles('user')) {
  Defaults(`${file.path}: every BLF key picks a ringing colleague up with *8`, () => {
    const body = file.body;
    // A model with room for only the line and Logout keys has no BLF key to check: its warnings say why.
    const warnings = files.find((f) => f.path === file.path.replace(/[^/]+$/, 'warnings.txt'))?.body ?? '';
    if (/do not fit on the [^(]+\(2 keys\): blf/.test(warnings)) return;
    switch (vendorOf(file)) {
      case 'yealink': {
        const blf = [...body.matchAll(/^(linekey\.\d+|expansion_module\.\d+\.key\.\d+)\.type = 16$/gm)].map((m) => m[1]);
        assert.ok(blf.length > 0);
        for (const key of blf) assert.ok(body.includes(`${key}.pickup_value = *8\n`), `${key} has no pickup code`);
        break;
      }
      case 'snom': {
        const blf = [...body.matchAll(/>blf ([^<]*)</g)].map((m) => m[1] ?? '');
        assert.ok(blf.length > 0);
        for (const key of blf) assert.ok(key.endsWith('|*8'), key);
        break;
      }
      case 'polycom':
        assert.match(body, /lineKey\.\d+\.category="BLF"/);
        break;
    }
  });
}

/** What a user may leave on the phone, and the idle and retired files' settings that wipe it. */
const WIPES: Record<string, readonly RegExp[]> = {
  yealink: [
    /^features\.dnd\.enable = 0$/m,
    /^account\.1\.dnd\.enable = 0$/m,
    /^forward\.always\.enable = 0\nforward\.always\.target = %NULL%$/m,
    /^forward\.busy\.enable = 0\nforward\.busy\.target = %NULL%$/m,
    /^forward\.no_answer\.enable = 0\nforward\.no_answer\.target = %NULL%$/m,
    /^account\.1\.always_fwd\.enable = 0$/m,
    /^account\.1\.busy_fwd\.enable = 0$/m,
    /^account\.1\.timeout_fwd\.enable = 0$/m,
    /^local_contact\.data\.url = http:\/\/prov\.example\.test:8080\/hotprov-empty-contacts\.xml$/m,
  ],
  snom: [
    /<dnd_mode idx="1" perm="">off<\/dnd_mode>/,
    /<fwd_all_enabled idx="1" perm="">off<\/fwd_all_enabled>\s+<fwd_all_target idx="1" perm=""><\/fwd_all_target>/,
    /<fwd_busy_enabled idx="1" perm="">off<\/fwd_busy_enabled>/,
    /<fwd_time_enabled idx="1" perm="">off<\/fwd_time_enabled>/,
    /<tbook complete="true"><\/tbook>/,
  ],
  polycom: [],
};

for (const mode of ['idle', 'retired'] as const) {
  for (const file of deviceFiles(mode)) {
    Defaults(`${file.path}: logout wipes DND, forwarding and local contacts`, () => {
      for (const wipe of WIPES[vendorOf(file) ?? ''] ?? []) assert.match(file.body, wipe);
    });
  }
}
for (const file of deviceFiles('user')) {
  Defaults(`${file.path}: a logged-in user's own DND and forwarding are left alone`, () => {
    for (const wipe of WIPES[vendorOf(file) ?? ''] ?? []) assert.not.match(file.body, wipe);
  });
}
/**
 * The call history setting each vendor documents, as the idle and retired files write it and as a user's file
 * writes it. Yealink and Poly only stop keeping a history (nothing documented clears one already on the phone);
 * Snom documents nothing (vendor-profiles/snom.json sources), so its files carry no history setting at all.
 */
const HISTORY: Record<string, { names: readonly string[]; wiped: readonly RegExp[]; kept: readonly RegExp[] }> = {
  yealink: { names: ['features.save_call_history'], wiped: [/^features\.save_call_history = 0$/m], kept: [/^features\.save_call_history = 1$/m] },
  polycom: {
    names: ['feature.callList.enabled', 'feature.callListMissed.enabled'],
    wiped: [/feature\.callList\.enabled="0"/, /feature\.callListMissed\.enabled="0"/],
    kept: [/feature\.callList\.enabled="1"/, /feature\.callListMissed\.enabled="1"/],
  },
  snom: { names: [], wiped: [], kept: [] },
};

for (const mode of ['idle', 'retired', 'user'] as const) {
  for (const file of deviceFiles(mode)) {
    const vendor = vendorOf(file) ?? '';
    Defaults(`${file.path}: ${mode === 'user' ? 'the user keeps a call history' : 'the phone keeps no call history'}`, () => {
      const history = HISTORY[vendor];
      assert.ok(history !== undefined, `no call history entry for ${vendor}`);
      for (const setting of mode === 'user' ? history.kept : history.wiped) assert.match(file.body, setting);
      for (const setting of mode === 'user' ? history.wiped : history.kept) assert.not.match(file.body, setting);
      if (vendor === 'snom') assert.not.match(file.body, /call_?list|callist|history/i);
    });
  }
}
Defaults('each call history setting has its source in vendor-profiles, and each vendor profile says what stays undocumented', () => {
  for (const [vendor, history] of Object.entries(HISTORY)) {
    for (const name of history.names) assert.ok(documented.get(vendor)?.[name] !== undefined, `${vendor}: ${name} has no source`);
    const profile = JSON.parse(readFileSync(new URL(`../../vendor-profiles/${vendor}.json`, import.meta.url), 'utf8')) as { sources: string[] };
    assert.ok(
      profile.sources.some((s) => s.startsWith('Call history on logout:')),
      `vendor-profiles/${vendor}.json says nothing about call history`,
    );
  }
});

for (const model of models) {
  if (!model.startsWith('polycom/')) continue;
  Defaults(`${model}: idle and retired phones get an empty override file, a user's phone keeps its own`, () => {
    const overrides = (mode: string) => files.find((f) => f.path.startsWith(`${model}/${mode}/`) && f.path.endsWith('-phone.cfg'))?.body;
    for (const mode of ['idle', 'retired']) assert.match(overrides(mode) ?? '', /<PHONE_CONFIG>\s*<OVERRIDES\/>\s*<\/PHONE_CONFIG>/, mode);
    assert.is(overrides('user'), undefined);
  });
  Defaults(`${model}: the idle and retired contact directories hold none of the user's contacts`, () => {
    const directory = (mode: string) => files.find((f) => f.path.startsWith(`${model}/${mode}/`) && f.path.endsWith('-directory.xml'))?.body ?? '';
    assert.not.match(directory('idle'), /Reception|\+31201234567/);
    assert.not.match(directory('retired'), /<item>/);
  });
}

const digitMapOf = (file: GoldenFile) =>
  /^account\.1\.dialplan\.digitmap\.string = (.*)$/m.exec(file.body)?.[1] ?? /dialplan\.digitmap="([^"]*)"/.exec(file.body)?.[1] ?? null;

for (const file of deviceFiles('idle')) {
  Defaults(`${file.path}: emergency numbers dial at once, extensions only of the tenant's lengths, the login code passes`, () => {
    if (vendorOf(file) === 'snom') {
      const plan = /<user_dp_str idx="1" perm="R">([^<]*)</.exec(file.body)?.[1] ?? '';
      // Entries `!pattern!replacement!flags`, separated by spaces; the first that matches is taken.
      const entries = plan.split(' ').map((e) => {
        const [, pattern, replacement, flags] = e.split('!');
        return { re: new RegExp(pattern ?? ''), replacement: replacement ?? '', flags: flags ?? '' };
      });
      const taken = (n: string) => entries.find((e) => e.re.test(n));
      for (const n of ['112', '911']) assert.equal([taken(n)?.replacement, taken(n)?.flags], ['sip:\\1@\\d', 'd'], n);
      for (const n of ['20', '201', '123456', '*35', '*35*201', '*35*201*4826']) assert.is(taken(n)?.replacement, 'sip:\\1@\\d', n);
      for (const n of ['1', '1234567', '0612345678', '+31201234567', '*99', '*3', '#']) {
        assert.is(taken(n)?.replacement, 'sip:blocked@blocked.invalid', `${n} is not blocked`);
      }
      return;
    }
    const map = digitMapOf(file);
    assert.ok(map !== null);
    for (const n of ['112', '911']) assert.is(dialsAtOnce(map, n, 6), null);
    const elements = elementsOf(map);
    const allowed = (n: string) => elements.some((e) => e.re.test(n));
    for (const n of ['20', '201', '2010', '99999', '123456', '1120', '*35', '*35*201', '*35*201*4826']) {
      assert.is(allowed(n), !n.startsWith('112'), n);
    }
    for (const n of ['1', '1234567', '0612345678', '+31201234567', '*99']) assert.not.ok(allowed(n), `${n} is allowed`);
  });
}

for (const file of deviceFiles('user').filter((f) => vendorOf(f) === 'polycom')) {
  Defaults(`${file.path}: a logged-in Poly phone takes +, and # ends dialling`, () => {
    const map = digitMapOf(file) ?? '';
    const elements = elementsOf(map);
    const matchesWithoutTimer = (n: string) => elements.some((e) => !e.text.endsWith('T') && e.re.test(n));
    assert.ok(elements.some((e) => e.re.test('+31201234567')));
    assert.ok(matchesWithoutTimer('0612345678#'), '# does not end dialling');
    assert.ok(matchesWithoutTimer('+31201234567#'));
    // Nothing can follow the #, so the phone dials at once.
    assert.not.ok(elements.some((e) => e.re.test('0612345678#1')));
    assert.match(file.body, /dialplan\.removeEndOfDial="1"/);
  });
}
Defaults.run();

// --- a tenant that sets the basics, and a desk with its own time zone and language

const ACTOR = { name: 'office-test' };

async function renderConfigured(): Promise<{ files: GoldenFile[]; overridden: Set<string> }> {
  const hotprov = await createHotprov({ config: testConfig(), adminToken: TEST_TOKEN, log: silentLogger, now: () => new Date('2026-01-05T08:00:00Z') });
  const deps = hotprov.deps.domain;
  const tenantId = (await hotprov.deps.tenant()).id;
  const out: GoldenFile[] = [];
  const overridden = new Set<string>();
  try {
    await updateTenant(deps, tenantId, ACTOR, {
      registrarTransport: 'tls',
      pickupCode: '**',
      pollMode: 'nightly',
      pollWindowStart: '01:00',
      pollWindowEnd: '05:00',
      phoneTimezone: 'Europe/Amsterdam',
      ntpServer: 'ntp.example.test',
      phoneLanguage: 'de',
      voicemailNumber: '*97',
      codecs: ['g722', 'pcma'],
      srtp: 'auto',
    });
    const tenant = await hotprov.deps.tenant();
    await createUser(deps, tenantId, tenant.pinMinLength, ACTOR, {
      extension: '201',
      displayName: 'Ana López',
      sipPassword: 'user-secret-201',
      pin: '4826',
      keys: GOLDEN_USER_KEYS,
    });
    let n = 0;
    for (const adapter of hotprov.adapters) {
      for (const model of adapter.profile.models.values()) {
        n++;
        const device = await enrolDevice(deps, tenantId, ACTOR, {
          mac: `${adapter.profile.macPrefixes[0] ?? '000000'}${String(n).padStart(6, '0')}`,
          vendor: adapter.id,
          model: model.id,
          idlePassword: `idle-secret-${String(n).padStart(4, '0')}`,
        });
        const dir = `${adapter.id}/${model.id}`;
        // Every other model's desk follows its own time zone and language.
        if (n % 2 === 0) {
          await updateDevice(deps, tenantId, ACTOR, device.idleAccount, { phoneTimezone: 'America/New_York', phoneLanguage: 'fr' });
          overridden.add(dir);
        }
        const current = async () => (await findDeviceById(deps.db, device.id)) ?? device;
        for (const f of await hotprov.provisioning.renderDeviceFiles(await current())) out.push({ path: `${dir}/idle/${f.name}`, body: f.body });
        await login(deps, tenantId, ACTOR, { device: device.idleAccount, extension: '201', pin: '4826', method: 'api' });
        for (const f of await hotprov.provisioning.renderDeviceFiles(await current())) out.push({ path: `${dir}/user/${f.name}`, body: f.body });
        await deleteDevice(deps, tenantId, ACTOR, device.idleAccount);
        for (const f of await hotprov.provisioning.renderDeviceFiles(await current())) out.push({ path: `${dir}/retired/${f.name}`, body: f.body });
      }
    }
  } finally {
    await hotprov.close();
  }
  return { files: out, overridden };
}

const configured = await renderConfigured();
const Configured = suite('every model, a tenant that sets the basics');

for (const file of configured.files) {
  const vendor = file.path.split('/')[0] ?? '';
  const model = file.path.split('/').slice(0, 2).join('/');
  const mode = file.path.split('/')[2];
  const own = configured.overridden.has(model);
  Configured(`${file.path}: documented settings only`, () => {
    const unknown = [...settingNames(file.path, file.body)].filter((name) => documented.get(vendor)?.[name] === undefined);
    assert.equal(unknown, [], `not in vendor-profiles/${vendor}.json settings: ${unknown.join(', ')}`);
  });
  if (mode !== 'user' && !file.path.endsWith('-phone.cfg')) {
    Configured(`${file.path}: sets every setting the user file sets`, () => {
      const user = configured.files.find((f) => f.path === file.path.replace(/\/(idle|retired)\//, '/user/'));
      assert.ok(user !== undefined);
      const missing = [...settingKeys(user.body)].filter((k) => !settingKeys(file.body).has(k));
      assert.equal(missing, []);
    });
  }
  if (!isDeviceFile(file.path)) continue;
  Configured(`${file.path}: clock, language, voicemail, codecs, SRTP, nightly poll and pickup in the vendor's form`, () => {
    const b = file.body;
    const wantsVoicemail = mode === 'user';
    switch (vendor) {
      case 'yealink':
        if (own) {
          assert.match(
            b,
            /^local_time\.time_zone = -5\nlocal_time\.summer_time = 1\nlocal_time\.dst_time_type = 1\nlocal_time\.start_time = 3\/2\/7\/2\nlocal_time\.end_time = 11\/1\/7\/2\nlocal_time\.offset_time = 60$/m,
          );
          assert.match(b, /^lang\.gui = French$/m);
        } else {
          assert.match(
            b,
            /^local_time\.time_zone = \+1\nlocal_time\.summer_time = 1\nlocal_time\.dst_time_type = 1\nlocal_time\.start_time = 3\/5\/7\/2\nlocal_time\.end_time = 10\/5\/7\/3\nlocal_time\.offset_time = 60$/m,
          );
          assert.match(b, /^lang\.gui = German$/m);
        }
        assert.match(b, /^local_time\.ntp_server1 = ntp\.example\.test$/m);
        assert.match(
          b,
          wantsVoicemail
            ? /^voice_mail\.number\.1 = \*97\naccount\.1\.subscribe_mwi = 1$/m
            : /^voice_mail\.number\.1 = %NULL%\naccount\.1\.subscribe_mwi = 0$/m,
        );
        assert.match(b, /^account\.1\.codec\.opus\.enable = 0$/m);
        assert.match(b, /^account\.1\.codec\.g722\.enable = 1\naccount\.1\.codec\.g722\.priority = 1$/m);
        assert.match(b, /^account\.1\.codec\.pcma\.enable = 1\naccount\.1\.codec\.pcma\.priority = 2$/m);
        assert.match(b, /^account\.1\.codec\.pcmu\.enable = 0$/m);
        assert.match(b, /^account\.1\.srtp_encryption = 1$/m);
        assert.match(b, /^static\.auto_provision\.repeat\.enable = 0$/m);
        assert.match(
          b,
          /^static\.auto_provision\.weekly\.enable = 1\nstatic\.auto_provision\.weekly\.dayofweek = 0123456\nstatic\.auto_provision\.weekly\.begin_time = 0[1-4]:\d\d\n/m,
        );
        assert.match(b, /^features\.pickup\.direct_pickup_code = \*\*$/m);
        break;
      case 'snom':
        assert.match(
          b,
          own
            ? /<utc_offset perm="R">-18000<\/utc_offset>\s+<dst perm="R">3600 03\.02\.07 02:00:00 11\.01\.07 02:00:00<\/dst>/
            : /<utc_offset perm="R">3600<\/utc_offset>\s+<dst perm="R">3600 03\.05\.07 02:00:00 10\.05\.07 03:00:00<\/dst>/,
        );
        assert.match(b, own ? /<language perm="R">Français<\/language>/ : /<language perm="R">Deutsch<\/language>/);
        assert.match(b, /<ntp_server perm="R">ntp\.example\.test<\/ntp_server>/);
        assert.match(b, wantsVoicemail ? /<user_mailbox idx="1" perm="R">\*97<\/user_mailbox>/ : /<user_mailbox idx="1" perm="R"><\/user_mailbox>/);
        assert.match(b, /<codec_priority_list idx="1" perm="R">g722,pcma,telephone-event<\/codec_priority_list>/);
        assert.match(b, /<user_srtp idx="1" perm="R">on<\/user_srtp>\s+<user_savp idx="1" perm="R">optional<\/user_savp>/);
        assert.match(
          b,
          /<prov_polling_mode perm="R">random<\/prov_polling_mode>\s+<prov_polling_period perm="R">86400<\/prov_polling_period>\s+<prov_polling_time perm="R">0[1-4]:\d\d<\/prov_polling_time>/,
        );
        if (mode === 'user') assert.match(b, /blf sip:202@pbx\.example\.test\|\*\*</);
        break;
      case 'polycom':
        assert.match(b, own ? /tcpIpApp\.sntp\.gmtOffset="-18000"/ : /tcpIpApp\.sntp\.gmtOffset="3600"/);
        // Europe: last Sunday (1) of March at 2 and of October at 3; New York: the second Sunday of March (date 8).
        assert.match(
          b,
          own
            ? /start\.month="3"\s+tcpIpApp\.sntp\.daylightSavings\.start\.date="8"\s+tcpIpApp\.sntp\.daylightSavings\.start\.dayOfWeek="1"\s+tcpIpApp\.sntp\.daylightSavings\.start\.dayOfWeek\.lastInMonth="0"/
            : /start\.month="3"\s+tcpIpApp\.sntp\.daylightSavings\.start\.dayOfWeek="1"\s+tcpIpApp\.sntp\.daylightSavings\.start\.dayOfWeek\.lastInMonth="1"\s+tcpIpApp\.sntp\.daylightSavings\.start\.time="2"/,
        );
        assert.match(b, own ? /lcl\.ml\.lang="French_France"/ : /lcl\.ml\.lang="German_Germany"/);
        assert.match(b, /tcpIpApp\.sntp\.address="ntp\.example\.test"/);
        assert.match(
          b,
          wantsVoicemail
            ? /msg\.mwi\.1\.subscribe="201"\s+msg\.mwi\.1\.callBackMode="contact"\s+msg\.mwi\.1\.callBack="\*97"/
            : /msg\.mwi\.1\.callBackMode="disabled"/,
        );
        assert.match(b, /voice\.codecPref\.Opus="0"\s+voice\.codecPref\.G722="1"\s+voice\.codecPref\.G711_A="2"\s+voice\.codecPref\.G711_Mu="0"/);
        assert.match(b, /sec\.srtp\.enable="1"\s+sec\.srtp\.offer="1"\s+sec\.srtp\.require="0"/);
        assert.match(b, /prov\.polling\.mode="abs"\s+prov\.polling\.period="86400"\s+prov\.polling\.time="0[1-4]:\d\d"/);
        assert.match(b, /call\.directedCallPickupString="\*\*"/);
        break;
    }
  });
}

Configured('the default tenant writes none of the basics it did not set', () => {
  for (const file of files) {
    assert.not.match(file.body, /local_time\.|lang\.gui|voice_mail\.|codec|srtp|utc_offset|<dst |<language|lcl\.ml\.lang|sntp|msg\.mwi/, file.path);
  }
});
Configured('the empty directory a Yealink downloads is a template an admin can edit, checked before it is saved', async () => {
  const hotprov = await createHotprov({ config: testConfig(), adminToken: TEST_TOKEN, log: silentLogger });
  try {
    const yealink = hotprov.adapters.find((a) => a.id === 'yealink');
    assert.ok(yealink !== undefined);
    const shipped = readFileSync(new URL('../../templates/yealink/contacts.xml.hbs', import.meta.url), 'utf8');
    const ok = checkTemplate(yealink, await hotprov.deps.tenant(), 'http://prov.example.test', 'contacts.xml', shipped);
    assert.ok(ok.ok);
    const broken = checkTemplate(yealink, await hotprov.deps.tenant(), 'http://prov.example.test', 'contacts.xml', '<root_contact>');
    assert.not.ok(broken.ok);
    assert.match(broken.ok ? '' : broken.error, /not well-formed XML/);
  } finally {
    await hotprov.close();
  }
});
Configured.run();
