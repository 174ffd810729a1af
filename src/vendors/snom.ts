import type { KeyFunction, KeySlot } from '../domain/keyLayout.ts';
import { type Mac, parseMac } from '../domain/mac.ts';
import type { ModelProfile, VendorProfile } from './catalog.ts';
import { escapeXml } from './escape.ts';
import type { DstChange, PhoneSettings } from './phoneSettings.ts';
import type { DeviceProfile, DialingRules, RenderPlan, VendorAdapter } from './types.ts';

/** The text of a <fkey>: its type and value, as on Snom's "Function Key Types" page. */
function fkeyText(fn: KeyFunction, registrarHost: string, pickupCode: string): string {
  switch (fn.kind) {
    case 'empty':
      return 'none';
    case 'line':
      return 'line';
    case 'login':
    case 'logout':
      // `url` opens the minibrowser on hotprov's screen (Snom: "Triggering an XML Minibrowser application").
      return fn.url === undefined ? `speed ${fn.value}` : `url ${fn.url}`;
    case 'speed':
      return `speed ${fn.value}`;
    case 'blf':
      // `|<code>`: pressing the key while the colleague's phone rings picks the call up (wazo, tancredi).
      return `blf sip:${fn.value}@${registrarHost}|${pickupCode}`;
  }
}

function fkeyLabel(fn: KeyFunction): string {
  return fn.kind === 'empty' ? '' : fn.label;
}

const regexEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An idle phone's dial plan (user_dp_str): entries `!pattern!replacement!flags`, separated by spaces, the first
 * matching entry taken (Snom "Dial Plan - Regular Expressions"). An allow-list: emergency numbers dial at once
 * (`d`), internal extensions of the tenant's lengths and the login code (alone, with an extension, with extension
 * and PIN) dial as typed; the last entry turns every other number into an address in the reserved `.invalid`
 * domain, which no PBX serves, so nothing else can be called. The PBX must still confine idle accounts.
 */
function idleDialPlan(rules: DialingRules): string {
  const entries: string[] = [];
  const numbers = rules.emergencyNumbers.filter((n) => /^\d+$/.test(n));
  if (numbers.length > 0) entries.push(`!^(${numbers.join('|')})$!sip:\\1@\\d!d`);
  entries.push(`!^([0-9]{${rules.extensionDigits.min},${rules.extensionDigits.max}})$!sip:\\1@\\d!`);
  entries.push(`!^(${regexEscape(rules.loginCode)}(\\*[0-9]+){0,2})$!sip:\\1@\\d!`);
  entries.push('!^.*$!sip:blocked@blocked.invalid!');
  return entries.join(' ');
}

/** `language` values of the Snom phones (nethesis/tancredi snom.macros). */
const LANGUAGE = { en: 'English', de: 'Deutsch', fr: 'Français', it: 'Italiano', es: 'Español', nl: 'Nederlands' } as const;

/** codec_priority_list names (wazo-provd-plugins snom base.tpl); Snom lists no Opus name there, so it is left out. */
const CODEC = { opus: null, g722: 'g722', pcma: 'pcma', pcmu: 'pcmu', g729: 'g729' } as const;

/** `dst` change: month.week (05 = last).weekday (07 = Sunday) hh:00:00, as in the Snom dst setting. */
const two = (n: number) => String(n).padStart(2, '0');
const dstChange = (c: DstChange) => `${two(c.month)}.${two(c.week)}.${two(c.weekday)} ${two(c.hour)}:00:00`;

/** Issue 13 settings for the Snom settings file; see the Yealink adapter for what `wipe` covers. */
function officeContext(phone: PhoneSettings, mode: DeviceProfile['mode']) {
  const wipe = mode !== 'user';
  const tz = phone.timezone;
  return {
    poll:
      phone.poll.mode === 'interval'
        ? { mode: 'rel', period: String(phone.poll.minutes * 60), time: '', until: '' }
        : { mode: 'random', period: '86400', time: phone.poll.at, until: phone.poll.until },
    timezone:
      tz === null
        ? null
        : {
            offset: String(tz.standardOffsetMinutes * 60),
            dst: tz.dst === null ? '' : `${tz.dst.saveMinutes * 60} ${dstChange(tz.dst.start)} ${dstChange(tz.dst.end)}`,
          },
    ntpServer: phone.ntpServer,
    language: phone.language === null ? null : LANGUAGE[phone.language],
    voicemail: phone.voicemailNumber === null ? null : { number: wipe ? '' : phone.voicemailNumber },
    codecs:
      phone.codecs === null ? null : [...phone.codecs.map((c) => CODEC[c]).filter((c): c is NonNullable<typeof c> => c !== null), 'telephone-event'].join(','),
    srtp:
      phone.srtp === null ? null : phone.srtp === 'off' ? { on: 'off', savp: 'off' } : { on: 'on', savp: phone.srtp === 'required' ? 'mandatory' : 'optional' },
    wipe,
  };
}

/** An empty slot's function key, made once per position (layoutKeys shares a model's empty slots; see yealink.ts). */
const emptyFkeys: object[] = [];
function emptyFkeyOf(s: KeySlot): object {
  let key = emptyFkeys[s.position];
  if (key === undefined) {
    key = Object.freeze({ idx: s.position - 1, label: '', text: 'none' });
    emptyFkeys[s.position] = key;
  }
  return key;
}

const upperMac = (mac: Mac) => mac.toUpperCase();

export function createSnomAdapter(profile: VendorProfile): VendorAdapter {
  const deviceContext = (p: DeviceProfile) => {
    const { host, port, transport } = p.registrar;
    const fkeys = (slots: readonly KeySlot[]) =>
      slots.map((s) =>
        s.fn.kind === 'empty' ? emptyFkeyOf(s) : { idx: s.position - 1, label: fkeyLabel(s.fn), text: fkeyText(s.fn, host, p.phone.pickupCode) },
      );
    const otherAccounts = [];
    for (let n = 2; n <= p.device.model.accounts; n++) otherAccounts.push({ index: n });
    return {
      mode: p.mode,
      settingServer: p.provisioning.urlWithCredentials,
      webPassword: p.webPassword,
      // hotprov answers a 401 with the identity's password; a PBX relaying the NOTIFY may not, so then no challenge.
      challengeCheckSync: p.notifyFrom === 'direct' ? 'on' : 'off',
      account: {
        active: p.account.enabled ? 'on' : 'off',
        realName: p.account.displayName,
        name: p.account.userName,
        authName: p.account.authName,
        password: p.account.password,
        host: !p.account.enabled ? '' : port === 5060 ? host : `${host}:${port}`,
        outbound: p.account.enabled ? `${host}:${port};transport=${transport}` : '',
        idleText: p.account.label,
      },
      dialPlan: p.dialing.restricted ? idleDialPlan(p.dialing) : '',
      otherAccounts,
      office: officeContext(p.phone, p.mode),
      fkeys: [...fkeys(p.layout.phone), ...p.layout.modules.flatMap(fkeys)],
    };
  };

  return {
    id: 'snom',
    profile,
    // vendors.md §2: the same event with reboot=true; Poly reboots on check-sync only if alwaysReboot=1.
    rebootEvent: 'check-sync;reboot=true',
    checkSyncEvent: 'check-sync;reboot=false',
    contentType: 'application/xml; charset=utf-8',
    escape: escapeXml,

    matchPath(filename) {
      const device = /^snom([A-Za-z]?\d{3}[A-Za-z]?)-([0-9A-Fa-f]{12})\.htm$/.exec(filename);
      if (device?.[2] !== undefined) {
        const mac = parseMac(device[2]);
        return mac === null ? null : { kind: 'device-index', mac };
      }
      const model = /^snom([A-Za-z]?\d{3}[A-Za-z]?)\.htm$/.exec(filename);
      if (model?.[1] !== undefined) {
        const found = profile.findModel(model[1]);
        return found === undefined ? null : { kind: 'model', mac: null, model: found };
      }
      const settings = /^([0-9A-Fa-f]{12})\.xml$/.exec(filename);
      const mac = settings?.[1] === undefined ? null : parseMac(settings[1]);
      return mac === null ? null : { kind: 'device', mac };
    },

    deviceFiles: (mac: Mac, model: ModelProfile) => [`snom${model.id}.htm`, `snom${model.id}-${upperMac(mac)}.htm`, `${upperMac(mac)}.xml`],

    screenContentType: 'text/xml; charset=utf-8',
    // SnomIPPhoneInput takes one entry per screen: the extension, then the PIN. The phone puts what was typed
    // where the InputToken stands in the Url.
    planScreen(screen) {
      switch (screen.kind) {
        case 'login':
          return { template: 'screen-login', context: { ...screen, url: `${screen.pinUrl}?ext=__X__` } };
        case 'pin':
          return { template: 'screen-pin', context: { ...screen, url: `${screen.submitUrl}?ext=${screen.extension}&pin=__X__` } };
        case 'activate':
          return { template: 'screen-activate', context: { ...screen, url: `${screen.submitUrl}?code=__X__` } };
        default:
          return { template: `screen-${screen.kind}`, context: screen };
      }
    },

    planSharedFile(file): RenderPlan | null {
      if (file.kind !== 'model' || file.model === undefined) return null;
      return { template: 'model.htm', context: { model: file.model.id } };
    },

    claimsWith: 'device',
    planBootstrapFile(file, b): RenderPlan | null {
      // The index names the settings file at the path the phone asked on; that one hands out the credentials.
      if (file.kind === 'device-index') return { template: 'device.htm', context: { settingsUrl: `${b.baseUrl}/${upperMac(b.mac)}.xml` } };
      if (file.kind !== 'device') return null;
      return {
        template: 'bootstrap.xml',
        context: { settingServer: b.provisioning.urlWithCredentials, activationUrl: b.activationUrl, pollSeconds: String(b.pollSeconds) },
      };
    },

    planDeviceFile(file, p): RenderPlan | null {
      if (file.kind === 'device-index') {
        // Snom fetches the files an index names as written: the credentials travel in the URL.
        return { template: 'device.htm', context: { settingsUrl: `${p.provisioning.urlWithCredentials}${upperMac(p.device.mac)}.xml` } };
      }
      if (file.kind === 'device') return { template: 'device.xml', context: deviceContext(p) };
      return null;
    },
  };
}
