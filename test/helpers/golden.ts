import { fileURLToPath } from 'node:url';
import { createHotprov } from '../../src/composition.ts';
import { deleteDevice, enrolDevice } from '../../src/domain/devices.ts';
import { login } from '../../src/domain/hotdesk.ts';
import type { UserKey } from '../../src/domain/keyLayout.ts';
import { findDeviceById } from '../../src/domain/lookup.ts';
import { createUser } from '../../src/domain/users.ts';
import { silentLogger } from '../../src/log.ts';
import type { PhoneFetch } from '../../src/provisioning/phoneFetch.ts';
import { activationResult, activationScreen, loginScreen, logoutScreen, pinScreen, submitLogin } from '../../src/provisioning/screens.ts';
import { YEALINK_EMPTY_CONTACTS } from '../../src/vendors/yealink.ts';
import { TEST_TOKEN, testConfig } from './server.ts';
import { xmlNames } from './xml.ts';

const BASE_URL = 'http://prov.example.test:8080';

export const GOLDEN_DIR = fileURLToPath(new URL('../golden', import.meta.url));

/** The fixture user: 36 BLFs, two speed dials and one gap, more than most phones hold without a module. */
export const GOLDEN_USER_KEYS: readonly UserKey[] = [
  ...Array.from({ length: 20 }, (_, i) => ({ type: 'blf' as const, value: String(202 + i), label: `Desk ${202 + i}` })),
  { type: 'speed', value: '', label: 'left empty' },
  { type: 'speed', value: '+31201234567', label: 'Reception' },
  { type: 'speed', value: '*97', label: 'Voicemail' },
  ...Array.from({ length: 16 }, (_, i) => ({ type: 'blf' as const, value: String(300 + i), label: `Sales ${300 + i}` })),
];

export interface GoldenFile {
  /** Path below test/golden: `<vendor>/<MODEL>/<idle|user>/<file name>`. */
  readonly path: string;
  readonly body: string;
}

const ACTOR = { name: 'golden' };

/** A shared file fetched at the open path by a client that proves nothing. */
const openFetch = (filename: string): PhoneFetch => ({
  filename,
  scope: 'open',
  action: 'download',
  userAgent: '',
  ip: '127.0.0.1',
  credentials: null,
  certificateMacs: null,
  held: { kind: 'none' },
});

/**
 * Renders every file of one phone per model in vendor-profiles/: idle, with the fixture user logged in (one
 * expansion module attached where the model takes one), and retired (deleted while the user sat there). Deterministic: fixed MACs, passwords and names.
 */
export async function renderGoldenFiles(): Promise<GoldenFile[]> {
  const hotprov = await createHotprov({
    config: testConfig(),
    adminToken: TEST_TOKEN,
    log: silentLogger,
    now: () => new Date('2026-01-05T08:00:00Z'),
  });
  const deps = hotprov.deps.domain;
  const tenant = await hotprov.deps.tenant();
  const out: GoldenFile[] = [];
  try {
    await createUser(deps, tenant.id, tenant.pinMinLength, ACTOR, {
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
        const prefix = adapter.profile.macPrefixes[0] ?? '000000';
        const device = await enrolDevice(deps, tenant.id, ACTOR, {
          mac: `${prefix}${String(n).padStart(6, '0')}`,
          vendor: adapter.id,
          model: model.id,
          label: `Desk ${n}`,
          idlePassword: `idle-secret-${String(n).padStart(4, '0')}`,
          screenSecret: `screen-secret-${String(n).padStart(4, '0')}`,
          provPassword: `prov-secret-${String(n).padStart(4, '0')}`,
          webPassword: `web-secret-${String(n).padStart(4, '0')}`,
          expansionModules: model.expansion === null ? 0 : 1,
        });
        const dir = `${adapter.id}/${model.id}`;
        for (const f of await hotprov.provisioning.renderDeviceFiles(device)) out.push({ path: `${dir}/idle/${f.name}`, body: f.body });
        if (model === [...adapter.profile.models.values()][0]) {
          // The login and logout screens, once per vendor (they do not depend on the model).
          const screens = [
            ['login', loginScreen(BASE_URL, device)],
            ['pin', pinScreen(BASE_URL, device, '201')],
            ['message', await submitLogin(deps, { id: tenant.id, timezone: 'UTC' }, ACTOR, device, '201', '4826')],
            ['logout', await logoutScreen(deps, BASE_URL, device)],
            ['activate', activationScreen(BASE_URL, device)],
            ['activated', activationResult('activated')],
          ] as const;
          // What the phone gets before it has proven itself: the bootstrap answer (the same files model by model).
          for (const f of await hotprov.provisioning.renderBootstrapFiles(device)) out.push({ path: `${adapter.id}/bootstrap/${f.name}`, body: f.body });
          for (const [kind, screen] of screens) {
            if (kind === 'pin' && adapter.id !== 'snom') continue;
            out.push({ path: `${adapter.id}/screens/${kind}.xml`, body: hotprov.provisioning.renderScreen(device, screen).body });
          }
        }
        await login(deps, tenant.id, ACTOR, { device: device.idleAccount, extension: '201', pin: '4826', method: 'api' });
        for (const f of await hotprov.provisioning.renderDeviceFiles(device)) out.push({ path: `${dir}/user/${f.name}`, body: f.body });
        const { warnings } = await hotprov.provisioning.summary(device);
        out.push({ path: `${dir}/user/warnings.txt`, body: warnings.map((w) => `${w}\n`).join('') });
        await deleteDevice(deps, tenant.id, ACTOR, device.idleAccount);
        const retired = await findDeviceById(deps.db, device.id);
        if (retired !== undefined) {
          for (const f of await hotprov.provisioning.renderDeviceFiles(retired)) out.push({ path: `${dir}/retired/${f.name}`, body: f.body });
        }
      }
    }
    const master = await hotprov.provisioning.answer(openFetch('000000000000.cfg'));
    if (master.kind === 'file') out.push({ path: 'polycom/000000000000.cfg', body: master.bytes().toString('utf8') });
    const contacts = await hotprov.provisioning.answer(openFetch(YEALINK_EMPTY_CONTACTS));
    if (contacts.kind === 'file') out.push({ path: `yealink/${YEALINK_EMPTY_CONTACTS}`, body: contacts.bytes().toString('utf8') });
  } finally {
    await hotprov.close();
  }
  return out;
}

/** `account.12.sip_server.1.port` → `account.N.sip_server.N.port`. */
const pattern = (name: string) => name.replace(/\.\d+(?=\.|$)/g, '.N');

/**
 * The setting names a file uses, as vendor-profiles/<vendor>.json `settings` lists them: Yealink keys with numbers
 * as N, Snom `element:`/`attribute:` names, Poly attribute names inside polycomConfig, screen elements and attributes.
 */
export function settingNames(path: string, body: string): Set<string> {
  const vendor = path.split('/')[0] ?? '';
  const used = new Set<string>();
  if (path.includes('/screens/')) {
    const { elements, attributes } = xmlNames(body);
    for (const e of elements) used.add(`screen:${e}`);
    for (const a of attributes) used.add(`screen-attribute:${a}`);
  } else if (vendor === 'yealink' && path.endsWith('.xml')) {
    for (const e of xmlNames(body).elements) used.add(`element:${e}`);
  } else if (vendor === 'yealink') {
    for (const line of body.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const key = /^include:config\b/.test(line) ? 'include:config' : (line.split('=')[0]?.trim() ?? '');
      used.add(pattern(key));
    }
  } else {
    const { elements, attributes } = xmlNames(body);
    // Poly reads settings from attribute names; the elements inside polycomConfig only group them.
    const inPolycomConfig = vendor === 'polycom' && elements.has('polycomConfig');
    for (const e of elements) if (!inPolycomConfig || e === 'polycomConfig') used.add(`element:${e}`);
    for (const a of attributes) used.add(inPolycomConfig ? pattern(a) : `attribute:${a}`);
  }
  return used;
}

/** Every setting a file writes, with its index (`linekey.3.type`, `user_name#2`): what an idle file must also write. */
export function settingKeys(body: string): Set<string> {
  return new Set(
    body
      .split('\n')
      .map((l) => /^\s*([\w.]+)\s*=/.exec(l)?.[1] ?? /^\s*([\w.]+)="/.exec(l)?.[1] ?? /<(\w+) idx="(\d+)"/.exec(l)?.slice(1).join('#'))
      .filter((k): k is string => k !== undefined),
  );
}
