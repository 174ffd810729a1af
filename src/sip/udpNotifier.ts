import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../log.ts';
import { type DigestCredentials, digestAuthorization, parseChallenge } from './digest.ts';
import { buildNotify, newBranch, parseResponse, randomToken, type SipResponse, topViaBranch } from './message.ts';

/** RFC 3261 timers: T1 (RTT estimate), T2 (longest retransmit interval), F (non-INVITE transaction timeout = 64·T1). */
export interface SipTimers {
  readonly t1: number;
  readonly t2: number;
  readonly timeoutF: number;
}

export const RFC3261_TIMERS: SipTimers = { t1: 500, t2: 4000, timeoutF: 64 * 500 };

export interface NotifyTarget {
  readonly requestUri: string;
  /** Where the datagram goes (the phone's contact, which may differ from the Request-URI's host). */
  readonly host: string;
  readonly port: number;
  readonly event: string;
  /** The credentials of the account the phone is registered with, to answer a 401/407 once. */
  readonly credentials: DigestCredentials | null;
}

export interface NotifyResult {
  /** The final status, or null when nothing final came before Timer F. */
  readonly status: number | null;
  readonly reason: string;
  /** Datagrams sent, retransmissions included. */
  readonly transmissions: number;
  readonly authenticated: boolean;
}

export interface UdpNotifier {
  /** The UDP port NOTIFYs leave from (useful when configured as 0). */
  readonly port: number;
  send(target: NotifyTarget): Promise<NotifyResult>;
  close(): Promise<void>;
}

/**
 * Sends check-sync NOTIFYs over UDP as an RFC 3261 non-INVITE client transaction: retransmitted on Timer E
 * (T1 doubling up to T2, T2 once a provisional answer came) until a final answer or Timer F, and a 401/407
 * answered once with digest credentials.
 */
export async function createUdpNotifier(options: {
  readonly port: number;
  readonly bindHost?: string;
  /** Host written into Via and Contact: an address the phones can answer. */
  readonly advertiseHost: string;
  readonly log: Logger;
  readonly timers?: SipTimers;
}): Promise<UdpNotifier> {
  const timers = options.timers ?? RFC3261_TIMERS;
  const socket: Socket = createSocket('udp4');
  const waiting = new Map<string, (response: SipResponse) => void>();

  socket.on('message', (data) => {
    const response = parseResponse(data.toString('utf8'));
    const branch = response === null ? null : topViaBranch(response);
    if (response !== null && branch !== null) waiting.get(branch)?.(response);
  });
  socket.on('error', (err) => options.log.error('sip', 'UDP socket error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.bindHost ?? '0.0.0.0', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const localPort = socket.address().port;

  /** One client transaction: resolves with the final response, or null on Timer F. */
  function transaction(datagram: string, branch: string, target: NotifyTarget, counter: { sent: number }): Promise<SipResponse | null> {
    return new Promise((resolve) => {
      let interval = timers.t1;
      let retransmit: NodeJS.Timeout | undefined;
      const transmit = () => {
        counter.sent++;
        socket.send(datagram, target.port, target.host, (err) => {
          if (err !== null) options.log.warn('sip', 'NOTIFY could not be sent', { to: `${target.host}:${target.port}`, error: err.message });
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
    });
  }

  return {
    port: localPort,
    async send(target) {
      const callId = `${randomToken(12)}@${options.advertiseHost}`;
      const fromTag = randomToken(6);
      const counter = { sent: 0 };
      const base = { requestUri: target.requestUri, local: { host: options.advertiseHost, port: localPort }, fromTag, callId, event: target.event };
      let branch = newBranch();
      let response = await transaction(buildNotify({ ...base, branch, cseq: 1 }), branch, target, counter);
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
          response = await transaction(buildNotify({ ...base, branch, cseq: 2, authorization }), branch, target, counter);
        }
      }
      return {
        status: response?.status ?? null,
        reason: response?.reason ?? 'no answer before Timer F',
        transmissions: counter.sent,
        authenticated,
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        socket.close(() => resolve());
      }),
  };
}
