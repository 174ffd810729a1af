import type { RequestListener } from 'node:http';
import { createServer, type Server, type ServerOptions } from 'node:https';
import type { HttpsConfig } from '../config.ts';

/**
 * The TLS options of hotprov's HTTPS listener. With a client-CA bundle every client is asked for a certificate,
 * which is verified against that bundle only; a client without one, or with one that does not verify, is still
 * served (rejectUnauthorized: false) and the routes decide what it may have (see clientCertificate.ts).
 */
export function httpsServerOptions(https: HttpsConfig): ServerOptions {
  return {
    cert: https.certPem,
    key: https.keyPem,
    ...(https.clientCaPem === null ? {} : { ca: https.clientCaPem, requestCert: true, rejectUnauthorized: false }),
  };
}

/** An HTTPS server for the app's request handler (`app.callback()`), not yet listening. */
export function createHttpsServer(https: HttpsConfig, handler: RequestListener): Server {
  return createServer(httpsServerOptions(https), handler);
}
