/**
 * The screens a phone shows for logging in and out, vendor-neutral. Each vendor adapter turns one into its own
 * XML browser object or XHTML page.
 */
export type Screen =
  /** Extension and PIN; `submitUrl` gets `?ext=…&pin=…`. Phones with one field per screen ask the extension first and go to `pinUrl`. */
  | { readonly kind: 'login'; readonly title: string; readonly submitUrl: string; readonly pinUrl: string }
  /** The PIN for an extension already typed (phones with one field per screen). */
  | { readonly kind: 'pin'; readonly title: string; readonly extension: string; readonly submitUrl: string }
  | { readonly kind: 'message'; readonly title: string; readonly text: string }
  /** Asks before logging out; `confirmUrl` logs out. */
  | { readonly kind: 'logout'; readonly title: string; readonly text: string; readonly confirmUrl: string }
  /** The activation code of a claimed phone; `submitUrl` gets `?code=…`. */
  | { readonly kind: 'activate'; readonly title: string; readonly submitUrl: string };
