import { isSharedEmptyModules, type KeyFunction, type KeySlot } from '../domain/keyLayout.ts';
import { type Mac, parseMac } from '../domain/mac.ts';
import type { ModelProfile, VendorProfile } from './catalog.ts';
import { idleDigitMap } from './digitMap.ts';
import { escapeCfgValue } from './escape.ts';
import type { DstChange, PhoneSettings } from './phoneSettings.ts';
import type { DeviceProfile, RenderPlan, VendorAdapter } from './types.ts';

/** The file whose download replaces a phone's local directory: empty, so a logout leaves no contact behind. */
export const YEALINK_EMPTY_CONTACTS = 'hotprov-empty-contacts.xml';

/** Yealink's reset value: a parameter left out of a file keeps its old value, %NULL% clears it. */
const NULL = '%NULL%';

/** linekey.N.type codes from the Yealink admin guides (wazo-provd-plugins v86, fusionpbx key types; 27 = XML Browser). */
const KEY_TYPE = { empty: 0, speedDial: 13, line: 15, blf: 16, xmlBrowser: 27 } as const;

/** account.N.sip_server.1.transport_type: 0 UDP, 1 TCP, 2 TLS. */
const TRANSPORT = { udp: 0, tcp: 1, tls: 2 } as const;

/** Emergency slots written every time, so numbers removed from the tenant's list are cleared too. */
const EMERGENCY_SLOTS = 5;

function keyParams(fn: KeyFunction): { type: number; line: string; value: string; label: string } {
  switch (fn.kind) {
    case 'empty':
      return { type: KEY_TYPE.empty, line: NULL, value: NULL, label: NULL };
    case 'line':
      return { type: KEY_TYPE.line, line: '1', value: NULL, label: fn.label === '' ? NULL : fn.label };
    case 'login':
    case 'logout':
      // With screens the key opens hotprov's login/logout screen in the XML browser, else it dials the code.
      return fn.url === undefined
        ? { type: KEY_TYPE.speedDial, line: '1', value: fn.value, label: fn.label }
        : { type: KEY_TYPE.xmlBrowser, line: '1', value: fn.url, label: fn.label };
    case 'speed':
      return { type: KEY_TYPE.speedDial, line: '1', value: fn.value, label: fn.label };
    case 'blf':
      return { type: KEY_TYPE.blf, line: '1', value: fn.value, label: fn.label };
  }
}

/**
 * What an empty key writes, made once per place (module, index): layoutKeys shares a model's empty slots between
 * phones, and most keys are empty. Frozen, and the same object every render, which lets the skeleton skip it
 * (skeletons.ts). By place in arrays, not by slot in a WeakMap: two hundred lookups a render.
 */
const emptyKeys: object[][] = [];
function emptyKeyOf(s: KeySlot): object {
  let byIndex = emptyKeys[s.module];
  if (byIndex === undefined) {
    byIndex = [];
    emptyKeys[s.module] = byIndex;
  }
  let key = byIndex[s.index];
  if (key === undefined) {
    const params = keyParams(s.fn);
    key = Object.freeze({ index: s.index, module: s.module, type: params.type, line: params.line, value: params.value, label: params.label, pickup: NULL });
    byIndex[s.index] = key;
  }
  return key;
}

/**
 * The keys of a model's modules when no key reaches them (layoutKeys then hands over the model's frozen empty
 * modules): made once per model, one frozen array, which the skeleton skips whole.
 */
const emptyExpansionKeys = new WeakMap<object, readonly object[]>();
function emptyExpansionKeysOf(modules: readonly (readonly KeySlot[])[], keys: (slots: readonly KeySlot[]) => object[]): readonly object[] {
  let all = emptyExpansionKeys.get(modules);
  if (all === undefined) {
    all = Object.freeze(modules.flatMap(keys));
    emptyExpansionKeys.set(modules, all);
  }
  return all;
}

/** lang.gui values from the Yealink admin guides (nethesis/tancredi yealink.macros). */
const LANGUAGE = { en: 'English', de: 'German', fr: 'French', it: 'Italian', es: 'Spanish', nl: 'Dutch' } as const;

/** account.N.srtp_encryption: 0 off, 1 optional, 2 compulsory. */
const SRTP = { off: 0, optional: 1, required: 2 } as const;

const CODEC_NAMES = ['opus', 'g722', 'pcma', 'pcmu', 'g729'] as const;

/** `local_time.start_time` / `end_time` by week: month/week (5 = last)/weekday (7 = Sunday)/hour. */
const dstTime = (c: DstChange) => `${c.month}/${c.week}/${c.weekday}/${c.hour}`;

/** `+1`, `-5`, `+5.5`: local_time.time_zone in hours. */
function zoneHours(minutes: number): string {
  const hours = Math.abs(minutes) / 60;
  return `${minutes < 0 ? '-' : '+'}${Number.isInteger(hours) ? hours : hours.toFixed(2).replace(/0$/, '')}`;
}

/**
 * Issue 13 settings: the provisioning poll, directed pickup, and the basics a tenant set (nothing for those it did
 * not). `wipe`: the idle and retired files also clear what a user may have left on the phone (DND, forwarding,
 * local contacts); a user file leaves them to the user.
 */
function officeContext(phone: PhoneSettings, mode: DeviceProfile['mode'], baseUrl: string) {
  const wipe = mode !== 'user';
  const tz = phone.timezone;
  return {
    poll:
      phone.poll.mode === 'interval'
        ? { repeat: 1, minutes: phone.poll.minutes, weekly: 0, begin: NULL, end: NULL, days: NULL }
        : { repeat: 0, minutes: NULL, weekly: 1, begin: phone.poll.at, end: phone.poll.until, days: '0123456' },
    pickupCode: phone.pickupCode,
    // features.save_call_history: only a user's phone keeps a call history.
    saveCallHistory: wipe ? 0 : 1,
    timezone:
      tz === null
        ? null
        : {
            zone: zoneHours(tz.standardOffsetMinutes),
            summer: tz.dst === null ? 0 : 1,
            dst: tz.dst === null ? null : { start: dstTime(tz.dst.start), end: dstTime(tz.dst.end), offset: tz.dst.saveMinutes },
          },
    ntpServer: phone.ntpServer,
    language: phone.language === null ? null : LANGUAGE[phone.language],
    voicemail: phone.voicemailNumber === null ? null : wipe ? { number: NULL, mwi: 0 } : { number: phone.voicemailNumber, mwi: 1 },
    codecs:
      phone.codecs === null
        ? null
        : CODEC_NAMES.map((name) => {
            const rank = phone.codecs?.indexOf(name) ?? -1;
            return { name, enable: rank < 0 ? 0 : 1, priority: rank < 0 ? 0 : rank + 1 };
          }),
    srtp: phone.srtp === null ? null : String(SRTP[phone.srtp]),
    wipe: wipe ? { contactsUrl: `${baseUrl}/${YEALINK_EMPTY_CONTACTS}` } : null,
  };
}

function commonFileName(model: ModelProfile): string {
  return `y${(model.hardwareId ?? '0').padStart(12, '0')}.cfg`;
}

export function createYealinkAdapter(profile: VendorProfile): VendorAdapter {
  const modelsByHardwareId = new Map<string, ModelProfile>();
  for (const model of profile.models.values()) {
    if (model.hardwareId === undefined) continue;
    const id = model.hardwareId.padStart(12, '0');
    // A common file names one hardware id; two models on one id would get each other's model file.
    const other = modelsByHardwareId.get(id);
    if (other !== undefined) throw new Error(`vendor-profiles/yealink.json: ${other.id} and ${model.id} share hardware id ${model.hardwareId}`);
    modelsByHardwareId.set(id, model);
  }

  const deviceContext = (p: DeviceProfile) => {
    const model = p.device.model;
    const account = p.account;
    // A BLF key of a ringing colleague picks the call up with the tenant's directed-pickup code (wazo: pickup_value).
    const keys = (slots: readonly KeySlot[]) =>
      slots.map((s) => {
        if (s.fn.kind === 'empty') return emptyKeyOf(s);
        // Properties written out rather than spread: a T54W with three modules has some 200 keys a render.
        const key = keyParams(s.fn);
        return {
          index: s.index,
          module: s.module,
          type: key.type,
          line: key.line,
          value: key.value,
          label: key.label,
          pickup: s.fn.kind === 'blf' ? p.phone.pickupCode : NULL,
        };
      });
    const emergency = [];
    for (let i = 1; i <= Math.max(EMERGENCY_SLOTS, p.dialing.emergencyNumbers.length); i++) {
      emergency.push({ index: i, value: p.dialing.emergencyNumbers[i - 1] ?? NULL });
    }
    const otherAccounts = [];
    for (let n = 2; n <= model.accounts; n++) otherAccounts.push({ index: n });
    return {
      mode: p.mode,
      provisioning: p.provisioning,
      webPassword: p.webPassword,
      // SIP only from the registrar, in every NOTIFY mode: Yealink documents no way to check who sent a NOTIFY,
      // so the phone takes check-sync from its PBX only (relay mode). In direct mode hotprov's own NOTIFY is
      // refused and the provisioning poll brings the change (README, "Yealink and direct NOTIFYs").
      trustControl: 1,
      office: officeContext(p.phone, p.mode, p.baseUrl),
      commonFile: commonFileName(model),
      account: account.enabled
        ? {
            enable: 1,
            label: account.label,
            displayName: account.displayName,
            authName: account.authName,
            userName: account.userName,
            password: account.password,
            server: p.registrar.host,
            port: String(p.registrar.port),
            transport: String(TRANSPORT[p.registrar.transport]),
          }
        : { enable: 0, label: NULL, displayName: NULL, authName: NULL, userName: NULL, password: NULL, server: NULL, port: NULL, transport: NULL },
      digitMap: p.dialing.restricted ? { enable: 1, string: idleDigitMap(p.dialing), noMatchAction: '1' } : { enable: 0, string: NULL, noMatchAction: NULL },
      emergency,
      otherAccounts,
      lineKeys: keys(p.layout.phone),
      expansionKeys: isSharedEmptyModules(p.layout.modules) ? emptyExpansionKeysOf(p.layout.modules, keys) : p.layout.modules.flatMap(keys),
    };
  };

  return {
    id: 'yealink',
    profile,
    // vendors.md §2: the same event with reboot=true; Poly reboots on check-sync only if alwaysReboot=1.
    rebootEvent: 'check-sync;reboot=true',
    checkSyncEvent: 'check-sync;reboot=false',
    contentType: 'text/plain; charset=utf-8',
    escape: escapeCfgValue,

    matchPath(filename) {
      if (filename === YEALINK_EMPTY_CONTACTS) return { kind: 'empty-contacts', mac: null };
      let m = /^y(\d{12})\.cfg$/i.exec(filename);
      if (m?.[1] !== undefined) {
        const model = modelsByHardwareId.get(m[1]);
        return model === undefined ? null : { kind: 'common', mac: null, model };
      }
      m = /^([0-9a-f]{12})\.(cfg|boot)$/i.exec(filename);
      const mac = m?.[1] === undefined ? null : parseMac(m[1]);
      if (mac === null || m?.[2] === undefined) return null;
      return { kind: m[2].toLowerCase() === 'boot' ? 'boot' : 'device', mac };
    },

    deviceFiles: (mac: Mac, model: ModelProfile) => [`${mac}.boot`, commonFileName(model), `${mac}.cfg`],
    linkedFiles: [YEALINK_EMPTY_CONTACTS],

    screenContentType: 'text/xml; charset=utf-8',
    // One screen asks for extension and PIN together, so there is no separate PIN step.
    planScreen: (screen) => ({ template: `screen-${screen.kind === 'pin' ? 'login' : screen.kind}`, context: screen }),

    planSharedFile(file): RenderPlan | null {
      if (file.kind === 'empty-contacts') return { template: 'contacts.xml', context: {} };
      if (file.kind !== 'common' || file.model === undefined) return null;
      return { template: 'common.cfg', context: { model: file.model.id } };
    },

    claimsWith: 'device',
    planBootstrapFile(file, b): RenderPlan | null {
      if (file.kind === 'boot') return { template: 'bootstrap.boot', context: { deviceFile: `${b.mac}.cfg` } };
      if (file.kind !== 'device') return null;
      return {
        template: 'bootstrap.cfg',
        context: { provisioning: b.provisioning, activationUrl: b.activationUrl, pollMinutes: String(Math.max(1, Math.round(b.pollSeconds / 60))) },
      };
    },

    planDeviceFile(file, p): RenderPlan | null {
      if (file.kind === 'boot') {
        return { template: 'boot', context: { commonFile: commonFileName(p.device.model), deviceFile: `${p.device.mac}.cfg` } };
      }
      if (file.kind === 'device') return { template: 'device.cfg', context: deviceContext(p) };
      return null;
    },
  };
}
