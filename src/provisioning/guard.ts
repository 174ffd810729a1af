import { isIPv6 } from 'node:net';
import { networkSet, plainAddress } from '../domain/networks.ts';

/**
 * The budget of failed phone requests per source address: guessed MACs, wrong credentials, a User-Agent or
 * certificate naming another MAC. Past the budget the address is blocked for a while; a scanner sweeping an
 * OUI (2^24 MACs) then gets a few dozen answers an hour instead of thousands a second.
 */
export interface GuardPolicy {
  /** Failures an address may have within the window; the one that reaches it blocks the address. */
  readonly budget: number;
  readonly windowSeconds: number;
  readonly blockSeconds: number;
  /** Addresses never blocked (CIDRs): a provisioning proxy, a test rig. */
  readonly allow: readonly string[];
}

export interface BlockEvent {
  readonly source: string;
  readonly failures: number;
  readonly until: Date;
}

/**
 * Addresses kept at most. Past it the oldest are forgotten, blocked or not: a client inventing addresses (a
 * routed IPv6 prefix) then costs a bounded map, and its own addresses are the ones it pushes out.
 */
const MAX_TRACKED = 100_000;

/**
 * IPv6 sources are counted per /64: one host holds a whole /64, and counting per address would give it 2^64
 * budgets.
 */
export function sourceKey(ip: string): string {
  const address = plainAddress(ip);
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const missing = 8 - left.length - right.length;
  return [...left, ...Array(Math.max(missing, 0)).fill('0'), ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}

export function createRequestGuard(policy: GuardPolicy, now: () => Date, onBlock: (event: BlockEvent) => void | Promise<void>) {
  const allowed = networkSet(policy.allow);
  const sources = new Map<string, { failures: number; windowStart: number; blockedUntil: number }>();

  /** Forgets the oldest tenth (a Map keeps insertion order), so the cost is spread over many new addresses. */
  const makeRoom = () => {
    let drop = Math.ceil(MAX_TRACKED / 10);
    for (const key of sources.keys()) {
      if (drop-- <= 0) break;
      sources.delete(key);
    }
  };

  return {
    /** Addresses kept now (for tests of the bound). */
    get size(): number {
      return sources.size;
    },
    /** Seconds the address stays blocked, or 0. */
    blockedFor(ip: string): number {
      const s = sources.get(sourceKey(ip));
      if (s === undefined) return 0;
      const left = s.blockedUntil - now().getTime();
      return left > 0 ? Math.ceil(left / 1000) : 0;
    },

    /** Counts one failed request from the address; blocks it (and says so once) when it is over budget. */
    fail(ip: string): void {
      if (allowed.has(ip)) return;
      const at = now().getTime();
      const key = sourceKey(ip);
      let s = sources.get(key);
      if (s === undefined || at - s.windowStart > policy.windowSeconds * 1000) {
        if (s === undefined && sources.size >= MAX_TRACKED) makeRoom();
        s = { failures: 0, windowStart: at, blockedUntil: s?.blockedUntil ?? 0 };
        // Set anew so the map's order is the order of last windows: the oldest go first.
        sources.delete(key);
        sources.set(key, s);
      }
      s.failures++;
      if (s.failures >= policy.budget && s.blockedUntil <= at) {
        s.blockedUntil = at + policy.blockSeconds * 1000;
        void onBlock({ source: key, failures: s.failures, until: new Date(s.blockedUntil) });
        // The next window starts after the block: the address gets its budget back, and is blocked again if
        // it goes on.
        s.failures = 0;
        s.windowStart = s.blockedUntil;
      }
    },
  };
}

export type RequestGuard = ReturnType<typeof createRequestGuard>;
