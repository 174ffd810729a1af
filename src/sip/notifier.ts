import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from '../log.ts';
import { type DigestCredentials, digestAuthorization, parseChallenge } from './digest.ts';
import { buildNotify, newBranch, parseResponse, randomToken, type SipResponse, SipStreamReader, type SipTransport, topViaBranch, uriHost } from './message.ts';

/** RFC 3261 timers: T1 (RTT estimate), T2 (longest retransmit interval), F (non-INVITE transaction timeout = 64·T1). */
export interface SipTimers {
  readonly t1: number;
  readonly t2: number;
  readonly timeoutF: number;
}

export const RFC3261_TIMERS: SipTimers = { t1: 500, t2: 4000, timeoutF: 64 * 500 };

export interface NotifyTarget {
  readonly requestUri: string;
  /** Where the request goes (the phone's contact, which may differ from the Request-URI's host); IPv4 or IPv6. */
  readonly host: string;
  readonly port: number;
  /** The transport the phone registered with, as its contact says. */
  readonly transport: SipTransport;
  readonly event: string;
  /** The credentials of the account the phone is registered with, to answer a 401/407 once. */
  readonly credentials: DigestCredentials | null;
}

export interface NotifyResult {
  /** The final status, or null when nothing final came before Timer F (or the connection failed). */
  readonly status: number | null;
  readonly reason: string;
  /** Requests written, retransmissions included (over TCP and TLS, one per transaction). */
  readonly transmissions: number;
  readonly authenticated: boolean;
}

export interface SipNotifier {
  /** The UDP port NOTIFYs leave from (useful when configured as 0). */
  readonly port: number;
  /** Whether the UDP socket NOTIFYs leave from is still bound (false once closed): a readiness check. */
  bound(): boolean;
  send(target: NotifyTarget): Promise<NotifyResult>;
  close(): Promise<void>;
}

/** TLS to phones: their certificates name a MAC or a vendor, not the address they are reached at. */
export interface SipTlsOptions {
  /**
   * Certificate authorities (PEM) phone certificates must chain to, e.g. the vendors' device CAs. Without them the
   * connection is encrypted but the phone is not authenticated: no worse than UDP, which carries the same NOTIFY.
   */
  readonly ca?: string;
}

/** One conversation with a phone: a local address to name in Via and Contact, and client transactions. */
interface Channel {
  readonly local: { readonly host: string; readonly port: number };
  /** Sends one request and resolves with its final response, or null on Timer F or a broken connection. */
  transaction(request: string, branch: string): Promise<SipResponse | null>;
  /** Why the last transaction got no answer, when there is more to say than "Timer F". */
  failure: string | null;
  transmissions: number;
  close(): void;
}

/**
 * Sends check-sync NOTIFYs as RFC 3261 non-INVITE client transactions over the transport the phone registered
 * with: UDP (IPv4 or IPv6) retransmitted on Timer E (T1 doubling up to T2, T2 once a provisional answer came) until
 * a final answer or Timer F; TCP and TLS sent once on a connection of its own, answered on it, still bounded by
 * Timer F (§17.1.2.2). A 401/407 is answered once with digest credentials, on every transport.
 */
export async function createSipNotifier(options: {
  readonly port: number;
  /** IPv4 address the UDP socket binds to (default all). */
  readonly bindHost?: string;
  /** IPv6 address the second UDP socket binds to on first use (default all). */
  readonly bindHost6?: string;
  /** Host written into Via and Contact: an address the phones can answer. */
  readonly advertiseHost: string;
  readonly log: Logger;
  readonly timers?: SipTimers;
  readonly tls?: SipTlsOptions;
}): Promise<SipNotifier> {
  const timers = options.timers ?? RFC3261_TIMERS;
  const waiting = new Map<string, (response: SipResponse) => void>();

  const bindUdp = async (type: 'udp4' | 'udp6', host: string, port: number): Promise<UdpSocket> => {
    const socket = createSocket(type === 'udp6' ? { type, ipv6Only: true } : { type });
    socket.on('message', (data) => {
      const response = parseResponse(data.toString('utf8'));
      const branch = response === null ? null : topViaBranch(response);
      if (response !== null && branch !== null) waiting.get(branch)?.(response);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => options.log.error('sip', 'UDP socket error', { error: err.message }));
    return socket;
  };
  const udp4 = await bindUdp('udp4', options.bindHost ?? '0.0.0.0', options.port);
  const localPort = udp4.address().port;
  // IPv6 only when a phone is reached over it, on the same port when one is configured.
  let udp6: Promise<UdpSocket> | null = null;
  const udpFor = (host: string): Promise<UdpSocket> => {
    if (isIP(host) !== 6) return Promise.resolve(udp4);
    udp6 ??= bindUdp('udp6', options.bindHost6 ?? '::', options.port);
    return udp6;
  };

  /**
   * The address to name in Via and Contact towards `host`: the advertised one, unless it is an address of the
   * other IP family, then the one the system sends from towards the phone (a phone on IPv6 cannot answer IPv4).
   */
  const advertisedFor = async (host: string, connectedFrom?: string): Promise<string> => {
    const family = isIP(host);
    const advertised = isIP(options.advertiseHost);
    if (advertised === 0 || family === 0 || advertised === family) return options.advertiseHost;
    if (connectedFrom !== undefined) return connectedFrom;
    const probe = createSocket(family === 6 ? 'udp6' : 'udp4');
    try {
      // Connecting a datagram socket sends nothing; it only asks the routing table for the source address.
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.connect(9, host, () => resolve());
      });
      return probe.address().address;
    } catch {
      return options.advertiseHost;
    } finally {
      probe.close();
    }
  };

  const udpChannel = async (target: NotifyTarget): Promise<Channel> => {
    const socket = await udpFor(target.host);
    const channel: Channel = {
      local: { host: await advertisedFor(target.host), port: socket.address().port },
      failure: null,
      transmissions: 0,
      close() {},
      transaction: (datagram, branch) =>
        new Promise((resolve) => {
          let interval = timers.t1;
          let retransmit: NodeJS.Timeout | undefined;
          const transmit = () => {
            channel.transmissions++;
            socket.send(datagram, target.port, target.host, (err) => {
              if (err !== null) options.log.warn('sip', 'NOTIFY could not be sent', { to: `${uriHost(target.host)}:${target.port}`, error: err.message });
            });
          };
          const schedule = () => {
            retransmit = setTimeout(() => {
              transmit();
              interval = Math.min(interval * 2, timers.t2);
              schedule();
            }, interval);
          };
          const finish = (response: SipResponse | null) => {
            clearTimeout(retransmit);
            clearTimeout(timerF);
            waiting.delete(branch);
            resolve(response);
          };
          const timerF = setTimeout(() => finish(null), timers.timeoutF);
          waiting.set(branch, (response) => {
            if (response.status >= 200) {
              finish(response);
            } else if (interval < timers.t2) {
              // A provisional answer: keep retransmitting, at T2 from now on (RFC 3261 §17.1.2.2).
              interval = timers.t2;
              clearTimeout(retransmit);
              schedule();
            }
          });
          transmit();
          schedule();
        }),
    };
    return channel;
  };

  /** A TCP or TLS connection of its own for one NOTIFY (and its digest retry); null with the reason when none came. */
  const streamChannel = async (target: NotifyTarget): Promise<Channel | string> => {
    const tls = target.transport === 'tls';
    const socket: Socket = tls
      ? tlsConnect({
          host: target.host,
          port: target.port,
          ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
          ...(options.tls?.ca === undefined
            ? { rejectUnauthorized: false }
            : { ca: options.tls.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined }),
        })
      : tcpConnect({ host: target.host, port: target.port });
    const connected = await new Promise<true | string>((resolve) => {
      const timer = setTimeout(() => resolve(`no ${target.transport.toUpperCase()} connection within Timer F`), timers.timeoutF);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        resolve(`${target.transport.toUpperCase()} connection failed: ${err.message}`);
      });
    });
    if (connected !== true) {
      socket.destroy();
      return connected;
    }
    const reader = new SipStreamReader();
    const answers = new Map<string, (response: SipResponse | null) => void>();
    let failure: string | null = null;
    socket.on('data', (chunk: Buffer) => {
      for (const text of reader.push(chunk)) {
        const response = parseResponse(text);
        const branch = response === null ? null : topViaBranch(response);
        if (response !== null && branch !== null && response.status >= 200) answers.get(branch)?.(response);
      }
    });
    const broken = (why: string) => {
      failure ??= why;
      for (const answer of answers.values()) answer(null);
    };
    socket.on('error', (err) => broken(`${target.transport.toUpperCase()} connection failed: ${err.message}`));
    socket.on('close', () => broken('the phone closed the connection'));
    const channel: Channel = {
      local: { host: await advertisedFor(target.host, socket.localAddress), port: socket.localPort ?? localPort },
      get failure() {
        return failure;
      },
      transmissions: 0,
      close: () => socket.destroy(),
      transaction: (request, branch) =>
        new Promise((resolve) => {
          // Reliable transport: no retransmission (Timer E is for UDP only), but Timer F still bounds the wait.
          const timerF = setTimeout(() => finish(null), timers.timeoutF);
          const finish = (response: SipResponse | null) => {
            clearTimeout(timerF);
            answers.delete(branch);
            resolve(response);
          };
          answers.set(branch, finish);
          if (failure !== null) return finish(null);
          channel.transmissions++;
          socket.write(request);
        }),
    };
    return channel;
  };

  let closing: Promise<void> | null = null;
  return {
    port: localPort,
    bound() {
      try {
        udp4.address();
        return true;
      } catch {
        // ERR_SOCKET_DGRAM_NOT_RUNNING: closed.
        return false;
      }
    },
    async send(target) {
      const opened = target.transport === 'udp' ? await udpChannel(target) : await streamChannel(target);
      if (typeof opened === 'string') return { status: null, reason: opened, transmissions: 0, authenticated: false };
      const channel = opened;
      try {
        const callId = `${randomToken(12)}@${uriHost(channel.local.host)}`;
        const fromTag = randomToken(6);
        const base = { requestUri: target.requestUri, local: channel.local, transport: target.transport, fromTag, callId, event: target.event };
        let branch = newBranch();
        let response = await channel.transaction(buildNotify({ ...base, branch, cseq: 1 }), branch);
        let authenticated = false;
        if (response !== null && (response.status === 401 || response.status === 407) && target.credentials !== null) {
          const proxy = response.status === 407;
          const credentials = target.credentials;
          // A phone may offer several challenges (SHA-256 first, say): answer the first hotprov can.
          const value =
            (response.headers.get(proxy ? 'proxy-authenticate' : 'www-authenticate') ?? [])
              .map((header) => parseChallenge(header))
              .map((challenge) => (challenge === null ? null : digestAuthorization(challenge, credentials, 'NOTIFY', target.requestUri)))
              .find((v) => v !== null) ?? null;
          if (value !== null) {
            authenticated = true;
            branch = newBranch();
            const authorization = `${proxy ? 'Proxy-Authorization' : 'Authorization'}: ${value}`;
            response = await channel.transaction(buildNotify({ ...base, branch, cseq: 2, authorization }), branch);
          }
        }
        return {
          status: response?.status ?? null,
          reason: response?.reason ?? channel.failure ?? 'no answer before Timer F',
          transmissions: channel.transmissions,
          authenticated,
        };
      } finally {
        channel.close();
      }
    },
    close() {
      // Once: a second close (the composition root's, after a test closed the socket) finds nothing left to do.
      closing ??= (async () => {
        const sockets = [udp4, ...(udp6 === null ? [] : [await udp6.catch(() => null)])];
        await Promise.all(sockets.map((s) => (s === null ? undefined : new Promise<void>((resolve) => s.close(() => resolve())))));
      })();
      return closing;
    },
  };
}
