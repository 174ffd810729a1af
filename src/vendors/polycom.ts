import { isSharedEmptyModules, type KeyLayout, type KeySlot } from '../domain/keyLayout.ts';
import { type Mac, parseMac } from '../domain/mac.ts';
import type { ModelProfile, VendorProfile } from './catalog.ts';
import { idleDigitMap, OPEN_POLY_DIGIT_MAP } from './digitMap.ts';
import { escapeXml } from './escape.ts';
import type { DstChange, PhoneSettings } from './phoneSettings.ts';
import type { DeviceProfile, RenderPlan, VendorAdapter } from './types.ts';

/** reg.N.server.1.transport values from the Poly UC admin guides. */
const TRANSPORT = { udp: 'UDPOnly', tcp: 'TCPOnly', tls: 'TLS' } as const;

/** Files a Poly phone only uploads (logs, settings changed on the phone, call lists); hotprov accepts and drops them. */
const UPLOADS = /^([0-9a-f]{12})-(app\.log|boot\.log|web\.cfg|calls\.xml|license\.cfg)$/i;

const deviceConfigName = (mac: Mac) => `${mac}-hotprov.cfg`;

/**
 * What an empty key writes, made once per position (layoutKeys shares a model's empty slots between phones, and
 * most keys are empty); frozen, and the same object every render, which lets the skeleton skip it (skeletons.ts).
 */
const emptyLineKeys: { index: number; category: string; ref: string }[] = [];
function emptyLineKeyOf(slot: KeySlot) {
  let key = emptyLineKeys[slot.position];
  if (key === undefined) {
    key = Object.freeze({ index: slot.position, category: 'Unassigned', ref: '0' });
    emptyLineKeys[slot.position] = key;
  }
  return key;
}
/** An unused resource-list slot, by its 0-based place: the same for every phone. */
const emptyResources: { index: number; address: string; label: string }[] = [];
function emptyResourceAt(i: number) {
  let resource = emptyResources[i];
  if (resource === undefined) {
    resource = Object.freeze({ index: i + 1, address: '', label: '' });
    emptyResources[i] = resource;
  }
  return resource;
}

type LineKey = { readonly index: number; readonly category: string; readonly ref: string };
type Resource = { readonly index: number; readonly address: string; readonly label: string };
type SpeedDial = { readonly name: string; readonly contact: string; readonly sd: number };

/**
 * Lays a profile's keys out as Poly flexible line keys. BLF keys take their address from the attendant
 * resource list in order (lineKey index 0 = next resource); speed dials point at a contact-directory
 * speed-dial number, so the device's <mac>-directory.xml carries them.
 */
function polycomKeys(layout: KeyLayout) {
  const lineKeys: LineKey[] = [];
  const resources: { address: string; label: string }[] = [];
  const speedDials: SpeedDial[] = [];
  const lay = (slots: readonly KeySlot[]) => {
    for (const slot of slots) {
      const fn = slot.fn;
      switch (fn.kind) {
        case 'empty':
          lineKeys.push(emptyLineKeyOf(slot));
          break;
        case 'line':
          lineKeys.push({ index: slot.position, category: 'Line', ref: '1' });
          break;
        case 'blf':
          resources.push({ address: fn.value, label: fn.label });
          lineKeys.push({ index: slot.position, category: 'BLF', ref: '0' });
          break;
        case 'login':
        case 'logout':
        case 'speed': {
          const sd = speedDials.length + 1;
          speedDials.push({ name: fn.label === '' ? fn.value : fn.label, contact: fn.value, sd });
          lineKeys.push({ index: slot.position, category: 'SpeedDial', ref: String(sd) });
          break;
        }
      }
    }
  };
  lay(layout.phone);
  // Modules no key reaches (most phones) are the model's shared empty slots: their keys are made once.
  const emptyModules = isSharedEmptyModules(layout.modules) ? emptyModuleKeysOf(layout.modules) : null;
  if (emptyModules === null) for (const module of layout.modules) lay(module);
  else for (const key of emptyModules) lineKeys.push(key);
  // Every resource slot a key could use is written, so a logged-out user's BLFs are cleared. Without BLFs (an
  // idle phone) the list is the same frozen one every render, which the skeleton steps over whole.
  const empties = emptyResourcesFor(lineKeys.length);
  if (resources.length === 0) return { lineKeys, resourceList: empties, speedDials };
  const resourceList: Resource[] = resources.map((r, i) => ({ index: i + 1, address: r.address, label: r.label }));
  for (let i = resources.length; i < empties.length; i++) resourceList.push(empties[i] as Resource);
  return { lineKeys, resourceList, speedDials };
}

/** `count` unused resource-list slots, made once per count. */
const emptyResourceLists = new Map<number, readonly Resource[]>();
function emptyResourcesFor(count: number): readonly Resource[] {
  let list = emptyResourceLists.get(count);
  if (list === undefined) {
    list = Object.freeze(Array.from({ length: count }, (_, i) => emptyResourceAt(i)));
    emptyResourceLists.set(count, list);
  }
  return list;
}

/** The empty line keys of a model's shared empty modules, by those modules. */
const emptyModuleKeys = new WeakMap<object, readonly LineKey[]>();
function emptyModuleKeysOf(modules: KeyLayout['modules']): readonly LineKey[] {
  let keys = emptyModuleKeys.get(modules);
  if (keys === undefined) {
    keys = Object.freeze(modules.flatMap((module) => module.map(emptyLineKeyOf)));
    emptyModuleKeys.set(modules, keys);
  }
  return keys;
}

/** lcl.ml.lang values (wazo-provd-plugins wazo_polycom common.py). */
const LANGUAGE = {
  en: 'English_United_States',
  de: 'German_Germany',
  fr: 'French_France',
  it: 'Italian_Italy',
  es: 'Spanish_Spain',
  nl: 'Dutch_Netherlands',
} as const;

/** voice.codecPref.<name>: 1 = first choice, 0 = off (fusionpbx poly templates). */
const CODEC = { opus: 'Opus', g722: 'G722', pcma: 'G711_A', pcmu: 'G711_Mu', g729: 'G729_AB' } as const;

/** tcpIpApp.sntp.daylightSavings.start|stop.*: dayOfWeek 1 = Sunday; the n-th one on or after `date`, or the last. */
function dstChange(c: DstChange) {
  return {
    month: String(c.month),
    date: c.week === 5 ? null : String((c.week - 1) * 7 + 1),
    dayOfWeek: String((c.weekday % 7) + 1),
    last: c.week === 5 ? '1' : '0',
    time: String(c.hour),
  };
}

/** Issue 13 settings for the Poly device file; nothing is written for a basic the tenant did not set. */
function officeContext(phone: PhoneSettings, mode: DeviceProfile['mode'], address: string) {
  const tz = phone.timezone;
  return {
    poll:
      phone.poll.mode === 'interval'
        ? { mode: 'rel', period: String(phone.poll.minutes * 60), time: '' }
        : { mode: 'abs', period: '86400', time: phone.poll.at },
    pickupCode: phone.pickupCode,
    // feature.callList*.enabled: only a user's phone keeps call lists (missed, placed, received).
    callLists: mode === 'user' ? '1' : '0',
    timezone:
      tz === null
        ? null
        : {
            offset: String(tz.standardOffsetMinutes * 60),
            dst: tz.dst === null ? null : { start: dstChange(tz.dst.start), stop: dstChange(tz.dst.end) },
          },
    ntpServer: phone.ntpServer,
    language: phone.language === null ? null : LANGUAGE[phone.language],
    voicemail:
      phone.voicemailNumber === null
        ? null
        : mode === 'user'
          ? { subscribe: address, mode: 'contact', callBack: phone.voicemailNumber }
          : { subscribe: '', mode: 'disabled', callBack: '' },
    codecs:
      phone.codecs === null
        ? null
        : (Object.keys(CODEC) as (keyof typeof CODEC)[]).map((c) => ({ name: CODEC[c], rank: String((phone.codecs?.indexOf(c) ?? -1) + 1) })),
    srtp:
      phone.srtp === null
        ? null
        : { enable: phone.srtp === 'off' ? '0' : '1', offer: phone.srtp === 'off' ? '0' : '1', require: phone.srtp === 'required' ? '1' : '0' },
  };
}

export function createPolycomAdapter(profile: VendorProfile): VendorAdapter {
  const keysOf = (p: DeviceProfile) => polycomKeys(p.layout);

  const deviceContext = (p: DeviceProfile) => {
    const otherRegistrations = [];
    for (let n = 2; n <= p.device.model.accounts; n++) otherRegistrations.push({ index: n });
    const { lineKeys, resourceList } = keysOf(p);
    return {
      mode: p.mode,
      provisioning: p.provisioning,
      webPassword: p.webPassword,
      // Check-sync NOTIFYs must prove themselves: by digest with the line's credentials when hotprov sends them
      // (it answers the challenge), or by coming from the registrar when the PBX relays them.
      notifyValidation: p.notifyFrom === 'direct' ? 'digest' : 'source',
      reg: {
        displayName: p.account.displayName,
        address: p.account.userName,
        label: p.account.label,
        userId: p.account.authName,
        password: p.account.password,
        server: p.account.enabled ? p.registrar.host : '',
        port: p.account.enabled ? String(p.registrar.port) : '',
        transport: TRANSPORT[p.registrar.transport],
      },
      otherRegistrations,
      digitMap: p.dialing.restricted ? idleDigitMap(p.dialing) : OPEN_POLY_DIGIT_MAP,
      // 1: an idle phone plays reorder for a number outside its map; 0: a logged-in phone sends what is dialled.
      impossibleMatchHandling: p.dialing.restricted ? '1' : '0',
      lineKeys,
      resourceList,
      office: officeContext(p.phone, p.mode, p.account.userName),
      // Soft key 1 opens the login or logout screen in the microbrowser; without screens it is switched off.
      softkey:
        p.screens === null
          ? { enable: '0', label: '', action: '' }
          : { enable: '1', label: p.mode === 'user' ? 'Logout' : 'Login', action: p.mode === 'user' ? p.screens.logout : p.screens.login },
    };
  };

  return {
    id: 'polycom',
    profile,
    // vendors.md §2: the same event with reboot=true; Poly reboots on check-sync only if alwaysReboot=1.
    rebootEvent: null,
    checkSyncEvent: 'check-sync',
    contentType: 'application/xml; charset=utf-8',
    escape: escapeXml,

    matchPath(filename) {
      if (filename === '000000000000.cfg') return { kind: 'master', mac: null };
      const upload = UPLOADS.exec(filename);
      if (upload?.[1] !== undefined) {
        const mac = parseMac(upload[1]);
        return mac === null ? null : { kind: 'upload', mac, upload: 'only' };
      }
      const m = /^([0-9a-f]{12})(\.cfg|-hotprov\.cfg|-directory\.xml|-phone\.cfg)$/i.exec(filename);
      const mac = m?.[1] === undefined ? null : parseMac(m[1]);
      if (mac === null || m?.[2] === undefined) return null;
      const suffix = m[2].toLowerCase();
      if (suffix === '-directory.xml') return { kind: 'directory', mac, upload: 'also' };
      // The settings changed on the phone (DND, forwarding, …), which it sends back and reads at start-up.
      if (suffix === '-phone.cfg') return { kind: 'overrides', mac, upload: 'also' };
      return { kind: suffix === '.cfg' ? 'master' : 'device', mac };
    },

    deviceFiles: (mac: Mac, _model: ModelProfile) => [`${mac}.cfg`, deviceConfigName(mac), `${mac}-directory.xml`, `${mac}-phone.cfg`],

    screenContentType: 'text/html; charset=utf-8',
    // One screen asks for extension and PIN together, so there is no separate PIN step.
    planScreen: (screen) => ({ template: `screen-${screen.kind === 'pin' ? 'login' : screen.kind}`, context: screen }),

    planSharedFile(file): RenderPlan | null {
      // The generic master names the device file by the phone's own MAC, which the phone substitutes.
      if (file.kind !== 'master') return null;
      return { template: 'master.cfg', context: { configFiles: '[PHONE_MAC_ADDRESS]-hotprov.cfg' } };
    },

    claimsWith: 'device',
    planBootstrapFile(file, b): RenderPlan | null {
      switch (file.kind) {
        case 'master':
          return { template: 'master.cfg', context: { configFiles: deviceConfigName(b.mac) } };
        case 'device':
          return { template: 'bootstrap.cfg', context: { provisioning: b.provisioning, activationUrl: b.activationUrl, pollSeconds: String(b.pollSeconds) } };
        case 'directory':
          return { template: 'directory.xml', context: { mode: 'bootstrap', speedDials: [] } };
        default:
          return null;
      }
    },

    planDeviceFile(file, p): RenderPlan | null {
      switch (file.kind) {
        case 'master':
          return { template: 'master.cfg', context: { configFiles: deviceConfigName(p.device.mac) } };
        case 'device':
          return { template: 'device.cfg', context: deviceContext(p) };
        case 'overrides':
          // Idle and retired phones get an empty override file, so what a user changed on the phone (which takes
          // precedence over hotprov's files) is dropped; a user's own phone keeps its overrides (404).
          return p.mode === 'user' ? null : { template: 'overrides.cfg', context: { mode: p.mode } };
        case 'directory':
          return { template: 'directory.xml', context: { mode: p.mode, speedDials: keysOf(p).speedDials } };
        default:
          return null;
      }
    },
  };
}
