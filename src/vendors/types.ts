import type { SipTransport } from '../config.ts';
import type { KeyLayout } from '../domain/keyLayout.ts';
import type { Mac } from '../domain/mac.ts';
import type { ModelProfile, VendorId, VendorProfile } from './catalog.ts';
import type { PhoneSettings } from './phoneSettings.ts';
import type { Screen } from './screen.ts';

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
  /** Where and how the phone fetches its own files from now on. */
  readonly provisioning: ProvisioningAccess;
  /** The admin password of the phone's own web interface. */
  readonly webPassword: string;
  /** Pickup code, provisioning poll, clock, language, voicemail, codecs and SRTP. */
  readonly phone: PhoneSettings;
}

/** hotprov's credentialed path and the phone's own credentials for it, in the forms the vendors' settings take. */
export interface ProvisioningAccess {
  /** `https://host:port/prov/`: the URL the phone fetches its files under. */
  readonly url: string;
  /** The same URL with the credentials in it, for phones that take them only that way (Snom). */
  readonly urlWithCredentials: string;
  /** Host, port and path without the scheme, and the scheme in Poly's words (HTTP, HTTPS). */
  readonly serverName: string;
  readonly serverType: 'HTTP' | 'HTTPS';
  readonly username: string;
  readonly password: string;
}

/**
 * What a phone that has not proven itself gets: its own credentials and where to use them, an Activate key,
 * and a short poll — never an account. Asked for an unknown or taken MAC, the same with credentials of nobody.
 */
export interface BootstrapProfile {
  readonly mac: Mac;
  readonly provisioning: ProvisioningAccess;
  /** The phone's screen for the activation code. */
  readonly activationUrl: string;
  /** How often the phone asks again while it waits for its activation. */
  readonly pollSeconds: number;
  readonly baseUrl: string;
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
  /**
   * How to answer a device file asked for by a phone that has not proven itself (no credentials, or a claimed
   * phone waiting for its activation): the file that hands out credentials (`claimsWith`), or a file that only
   * points at it; null for files such a phone gets nothing of. Never depends on whether the MAC is enrolled.
   */
  planBootstrapFile(file: FileMatch, profile: BootstrapProfile): RenderPlan | null;
  /** The file kind whose bootstrap answer hands out credentials: asking for it without them is a claim. */
  readonly claimsWith: string;
  /** Escapes one value for this vendor's file format so it can never add a line, element or attribute. */
  escape(value: string): string;
  /** Content type of the phone's login and logout screens (XML browser objects or XHTML). */
  readonly screenContentType: string;
  /** How to render a login or logout screen; its values are escaped as XML whatever the config format. */
  planScreen(screen: Screen): RenderPlan;
}
