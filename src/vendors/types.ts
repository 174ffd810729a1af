import type { SipTransport } from '../config.ts';
import type { KeyLayout } from '../domain/keyLayout.ts';
import type { Mac } from '../domain/mac.ts';
import type { Screen } from '../provisioning/screens.ts';
import type { ModelProfile, VendorId, VendorProfile } from './catalog.ts';
import type { PhoneSettings } from './phoneSettings.ts';

/** Everything a device's files are rendered from, vendor-neutral; built by the profile builder. */
export interface DeviceProfile {
  /** idle: the device's own account; user: a logged-in user's; retired: the device was deleted, everything blank. */
  readonly mode: 'idle' | 'user' | 'retired';
  readonly device: {
    readonly mac: Mac;
    readonly model: ModelProfile;
    readonly label: string;
    readonly location: string;
    readonly idleAccount: string;
  };
  /** The account on line 1: the device's idle HDxxxx account, or the logged-in user's; blank and off when retired. */
  readonly account: {
    readonly enabled: boolean;
    readonly displayName: string;
    readonly userName: string;
    readonly authName: string;
    readonly password: string;
    readonly label: string;
  };
  readonly registrar: { readonly host: string; readonly port: number; readonly transport: SipTransport };
  readonly dialing: DialingRules;
  readonly layout: KeyLayout;
  readonly baseUrl: string;
  /**
   * Who sends this phone its check-sync NOTIFY: hotprov itself ('direct', so the phone must accept it from
   * hotprov and may challenge it with digest), or the PBX ('relay', so the phone accepts it from its registrar only).
   */
  readonly notifyFrom: 'direct' | 'relay';
  /** The phone's login and logout screens (with its secret), or null when its keys dial the login code. */
  readonly screens: { readonly login: string; readonly logout: string } | null;
  /** Pickup code, provisioning poll, clock, language, voicemail, codecs and SRTP (issue 13). */
  readonly phone: PhoneSettings;
}

/** What an idle phone may dial; a logged-in phone dials freely. */
export interface DialingRules {
  readonly restricted: boolean;
  readonly emergencyNumbers: readonly string[];
  readonly extensionDigits: { readonly min: number; readonly max: number };
  readonly loginCode: string;
}

/** A request path this vendor's phones use, as the adapter understood it. */
export interface FileMatch {
  /** The adapter's own name for the file ('device', 'boot', 'model', …). */
  readonly kind: string;
  /** The MAC the file is for; null for files shared by a model or by all phones. */
  readonly mac: Mac | null;
  /** For model files: the model they are for. */
  readonly model?: ModelProfile | undefined;
  /**
   * Whether the phone PUTs this file: 'only' for files it never fetches from hotprov (logs, overrides),
   * 'also' for files it fetches and may send back (Poly's contact directory). Uploads are accepted and dropped.
   */
  readonly upload?: 'only' | 'also';
}

/** Which template to render with which context. The context holds raw values; the caller escapes them. */
export interface RenderPlan {
  readonly template: string;
  readonly context: Readonly<Record<string, unknown>>;
}

/**
 * One vendor: the paths its phones request, how its files are built from a profile, its escaping and
 * its check-sync event. Model data lives in vendor-profiles/, file text in templates/<vendor>/.
 */
export interface VendorAdapter {
  readonly id: VendorId;
  readonly profile: VendorProfile;
  /** Value of the Event header that makes the phone re-provision without rebooting. */
  readonly checkSyncEvent: string;
  /** Event header that makes the phone reboot, sent only when an admin asks; null when the vendor has none. */
  readonly rebootEvent: string | null;
  readonly contentType: string;
  /** Recognises a file name (no directories) this vendor's phones request. */
  matchPath(filename: string): FileMatch | null;
  /** The files one device fetches, in the order it fetches them. */
  deviceFiles(mac: Mac, model: ModelProfile): readonly string[];
  /** Files shared by every phone that a setting points at rather than the boot order (Yealink's empty directory). */
  readonly linkedFiles?: readonly string[];
  /** How to render a file shared by a model or by all phones; null when hotprov has none to offer. */
  planSharedFile(file: FileMatch, baseUrl: string): RenderPlan | null;
  /** How to render one of a device's own files. */
  planDeviceFile(file: FileMatch, profile: DeviceProfile): RenderPlan | null;
  /** Escapes one value for this vendor's file format so it can never add a line, element or attribute. */
  escape(value: string): string;
  /** Content type of the phone's login and logout screens (XML browser objects or XHTML). */
  readonly screenContentType: string;
  /** How to render a login or logout screen; its values are escaped as XML whatever the config format. */
  planScreen(screen: Screen): RenderPlan;
}
