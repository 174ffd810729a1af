import type { KeyFunction, KeySlot } from '../domain/keyLayout.ts';
import { type Mac, parseMac } from '../domain/mac.ts';
import type { ModelProfile, VendorProfile } from './catalog.ts';
import { escapeXml } from './escape.ts';
import type { DeviceProfile, DialingRules, RenderPlan, VendorAdapter } from './types.ts';

/** The text of a <fkey>: its type and value, as on Snom's "Function Key Types" page. */
function fkeyText(fn: KeyFunction, registrarHost: string): string {
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
      return `blf sip:${fn.value}@${registrarHost}`;
  }
}

function fkeyLabel(fn: KeyFunction): string {
  return fn.kind === 'empty' ? '' : fn.label;
}

/**
 * Snom's dial plan is a list of `|pattern|replacement|flags` regex entries (user_dp_str); the `d` flag dials
 * at once. It cannot refuse a number, so on an idle phone it makes emergency numbers dial without waiting;
 * the PBX must confine idle accounts.
 */
function idleDialPlan(rules: DialingRules): string {
  const numbers = rules.emergencyNumbers.filter((n) => /^\d+$/.test(n));
  return numbers.length === 0 ? '' : `!^(${numbers.join('|')})$!sip:\\1@\\d!d`;
}

const upperMac = (mac: Mac) => mac.toUpperCase();

export function createSnomAdapter(profile: VendorProfile): VendorAdapter {
  const deviceContext = (p: DeviceProfile) => {
    const { host, port, transport } = p.registrar;
    const fkeys = (slots: readonly KeySlot[]) =>
      slots.map((s) => ({ idx: s.position - 1, label: fkeyLabel(s.fn), text: fkeyText(s.fn, host) }));
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
