import type { KeyFunction, KeySlot } from '../domain/keyLayout.ts';
import { type Mac, parseMac } from '../domain/mac.ts';
import type { ModelProfile, VendorProfile } from './catalog.ts';
import { idleDigitMap } from './digitMap.ts';
import { escapeCfgValue } from './escape.ts';
import type { DeviceProfile, RenderPlan, VendorAdapter } from './types.ts';

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
    const keys = (slots: readonly KeySlot[]) => slots.map((s) => ({ index: s.index, module: s.module, ...keyParams(s.fn) }));
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
      // 1: SIP only from the registrar (the PBX relays the NOTIFY); 0: also from hotprov, which sends it directly.
      trustControl: p.notifyFrom === 'relay' ? 1 : 0,
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
      digitMap: p.dialing.restricted
        ? { enable: 1, string: idleDigitMap(p.dialing), noMatchAction: '1' }
        : { enable: 0, string: NULL, noMatchAction: NULL },
      emergency,
      otherAccounts,
      lineKeys: keys(p.layout.phone),
      expansionKeys: p.layout.modules.flatMap(keys),
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

    screenContentType: 'text/xml; charset=utf-8',
    // One screen asks for extension and PIN together, so there is no separate PIN step.
    planScreen: (screen) => ({ template: `screen-${screen.kind === 'pin' ? 'login' : screen.kind}`, context: screen }),

    planSharedFile(file): RenderPlan | null {
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
