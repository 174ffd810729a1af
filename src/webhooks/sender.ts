import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { literalAddressOf, mayCallAddress, networkSet } from '../domain/networks.ts';
import { type AttemptOutcome, type AttemptResult, type DueDelivery, recordAttempt, takeDueDeliveries } from '../domain/webhookEvents.ts';
import type { Logger } from '../log.ts';
import { describeNetworkError } from '../remoteError.ts';

/*
 * Sends the webhook outbox (domain/webhookEvents.ts): each delivery a signed HTTPS POST, retried with back-off until
 * the endpoint answers 2xx. Deliveries are at least once: a receiver drops repeats by the event's id.
 */

/** The signature header, as Stripe's: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'Hotprov-Signature';

/** The header's value for a body sent at `timestamp` (unix seconds), signed with the endpoint's secret. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export interface WebhookSenderDeps {
  readonly db: Db;
  readonly now: () => Date;
  readonly log: Logger;
  readonly config: Config['webhooks'];
  /** Told what each attempt came to (metrics count them). */
  readonly onAttempt?: (result: AttemptResult) => void;
  /** Deliveries sent at once, at most (default 16), and to one endpoint (default 4): a slow endpoint holds a few places, not all. */
  readonly maxInFlight?: number;
  readonly maxInFlightPerEndpoint?: number;
}

export interface WebhookSender {
  /** Starts the attempts that are due, as many as there is room for; answers how many it started. */
  pump(): Promise<number>;
  /** Settles when every attempt started has been recorded. */
  settled(): Promise<void>;
  close(): void;
}

/** Only so much of an answer is read: its status is what counts. */
const MAX_ANSWER_BYTES = 64 * 1024;

export function createWebhookSender(deps: WebhookSenderDeps): WebhookSender {
  const { config, log } = deps;
  const allowed = networkSet(config.allow);
  const timeoutMs = config.timeoutSeconds * 1000;
  const retryWaitsMs = config.retrySeconds.map((s) => Math.round(s * 1000));
  // An attempt whose result was never recorded (the process died) is taken again once it cannot still be running.
  const leaseMs = timeoutMs * 2 + 5000;
  const maxInFlight = deps.maxInFlight ?? 16;
  const perEndpoint = deps.maxInFlightPerEndpoint ?? 4;
  const inFlight = new Set<Promise<void>>();
  /** Attempts running, by endpoint id. */
  const busy = new Map<number, number>();

  // Every address a host name resolves to is checked when the connection is made, so a name that resolves to a
  // private address (or is changed to, after the URL was saved) is refused, not called.
  const guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) return callback(err, '', 0);
      const refused = addresses.find((a) => !mayCallAddress(a.address, allowed));
      if (refused !== undefined) return callback(notPublic(hostname, refused.address), '', 0);
      if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
  const agent = new Agent({
    keepAlive: true,
    ...(config.ca === null ? {} : { ca: [...rootCertificates, config.ca] }),
    lookup: guardedLookup,
  });

  const post = (due: DueDelivery, at: Date): Promise<AttemptOutcome> =>
    new Promise((resolve) => {
      const url = new URL(due.url);
      const host = url.hostname;
      // An address written in the URL is never looked up, so the lookup's check cannot see it: checked here.
      const literal = literalAddressOf(url);
      if (literal !== null && !mayCallAddress(literal, allowed)) {
        resolve({ status: null, error: notPublic(host, literal).message });
        return;
      }
      const { delivery } = due;
      const timestamp = Math.floor(at.getTime() / 1000);
      const req = request(url, {
        method: 'POST',
        agent,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'hotprov-webhooks',
          'Hotprov-Event': delivery.event,
          'Hotprov-Delivery': String(delivery.id),
          [SIGNATURE_HEADER]: signatureOf(due.secret, timestamp, delivery.body),
        },
      });
      req.on('response', (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        const status = res.statusCode ?? 0;
        const done = () =>
          resolve({
            status,
            error:
              status >= 200 && status < 300 ? null : status >= 300 && status < 400 ? `answered ${status} (redirects are not followed)` : `answered ${status}`,
          });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      req.on('error', (err) => {
        const refused = (err as { code?: string }).code === 'ENOTPUBLIC';
        if (refused)
          log.warn('webhooks', 'a webhook host resolves to an address not allowed (HOTPROV_WEBHOOK_ALLOW)', {
            delivery: delivery.id,
            host,
            address: (err as { address?: string }).address,
          });
        resolve({ status: null, error: refused ? err.message : describeNetworkError(err) });
      });
      req.end(delivery.body);
    });

  const attempt = async (due: DueDelivery): Promise<void> => {
    // A URL that cannot even be requested (saved by an older release's rules) fails like an unreachable one: retried, then given up.
    const outcome = await post(due, deps.now()).catch(
      (err: unknown): AttemptOutcome => ({ status: null, error: `cannot be requested: ${(err as Error).message}` }),
    );
    const result = await recordAttempt(deps.db, due.delivery, deps.now(), outcome, retryWaitsMs);
    deps.onAttempt?.(result);
    if (result !== 'delivered') {
      (result === 'failed' ? log.warn : log.info)('webhooks', result === 'failed' ? 'webhook delivery given up' : 'webhook delivery failed; will retry', {
        delivery: due.delivery.id,
        event: due.delivery.event,
        attempts: due.delivery.attempts,
        status: outcome.status,
        error: outcome.error,
      });
    }
  };

  return {
    async pump() {
      const room = maxInFlight - inFlight.size;
      if (room <= 0) return 0;
      const due = await takeDueDeliveries(deps.db, deps.now(), { total: room, perEndpoint, busy }, leaseMs);
      for (const d of due) {
        const endpoint = d.delivery.endpointId;
        busy.set(endpoint, (busy.get(endpoint) ?? 0) + 1);
        const work = attempt(d)
          .catch((err: unknown) => log.error('webhooks', 'a webhook attempt could not be recorded', { delivery: d.delivery.id, error: (err as Error).message }))
          .finally(() => {
            const left = (busy.get(endpoint) ?? 1) - 1;
            if (left > 0) busy.set(endpoint, left);
            else busy.delete(endpoint);
          });
        inFlight.add(work);
        void work.finally(() => inFlight.delete(work));
      }
      return due.length;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    close() {
      agent.destroy();
    },
  };
}

/**
 * A refused address. The tenant's admins read the message: it says that the host is not public, never what this
 * server's resolver answered for it (that would map the provider's own network for them); the log has the address.
 */
function notPublic(host: string, address: string): Error {
  return Object.assign(new Error(`${host} is not at a public address; hotprov calls only public ones`), { code: 'ENOTPUBLIC', address });
}
