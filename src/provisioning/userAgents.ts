import type { UserAgentInfo } from '../vendors/catalog.ts';
import type { VendorAdapter } from '../vendors/types.ts';

/** User-Agents remembered: a fleet's worth (Yealink and Snom name each phone's own MAC, so each is its own). */
const USER_AGENT_MEMO = 50_000;

export interface UserAgentReading {
  /** The vendor whose form the User-Agent has. */
  readonly vendor: string;
  /** The model, firmware and MAC it names. */
  readonly info: UserAgentInfo;
}

/**
 * What a User-Agent tells: the vendor whose form it has, and the model, firmware and MAC it names. A phone sends
 * the same User-Agent at every fetch, so each is read once and kept (a bounded number, short ones only: a client
 * inventing User-Agents only empties the memo), and every step of a fetch asks here.
 */
export function createUserAgentReader(adapters: readonly VendorAdapter[]) {
  const memo = new Map<string, UserAgentReading | null>();
  const read = (userAgent: string): UserAgentReading | null => {
    if (userAgent === '') return null;
    const known = memo.get(userAgent);
    if (known !== undefined) return known;
    let found: UserAgentReading | null = null;
    for (const adapter of adapters) {
      const info = adapter.profile.parseUserAgent(userAgent);
      if (info !== null) {
        found = { vendor: adapter.id, info };
        break;
      }
    }
    if (userAgent.length <= 256) {
      if (memo.size >= USER_AGENT_MEMO) memo.clear();
      memo.set(userAgent, found);
    }
    return found;
  };
  return {
    read,
    /** What the User-Agent says of the phone, if it is in this vendor's form. */
    readFor(adapter: VendorAdapter, userAgent: string): UserAgentInfo | null {
      const known = read(userAgent);
      return known?.vendor === adapter.id ? known.info : null;
    },
  };
}

export type UserAgentReader = ReturnType<typeof createUserAgentReader>;
