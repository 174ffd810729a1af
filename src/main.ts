import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createHotprov, type Hotprov } from './composition.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { redactedUrl } from './db/postgres.ts';
import { StartupError } from './errors.ts';
import { createHttpsServer } from './http/https.ts';
import { createLogger, type Logger, prettyLines } from './log.ts';

/**
 * Without HOTPROV_ADMIN_TOKEN a token is generated once into admin-token next to the database (mode 0600),
 * so a first start works without setup; the token itself is never logged.
 */
function resolveAdminToken(config: Config, log: Logger): string {
  if (config.adminToken !== null) return config.adminToken;
  const dir = config.dbPath === ':memory:' ? 'data' : dirname(config.dbPath);
  const file = join(dir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  log.info('lifecycle', 'no HOTPROV_ADMIN_TOKEN set: generated an API token', { file });
  return token;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hotprov: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.logFormat === 'pretty' ? prettyLines() : undefined);
  let hotprov: Hotprov;
  try {
    hotprov = await createHotprov({ config, log, adminToken: resolveAdminToken(config, log) });
  } catch (err) {
    // One line that names what to fix; a stack trace would only hide it.
    process.stderr.write(`hotprov: ${err instanceof StartupError ? err.message : `start-up failed: ${(err as Error).message.split('\n')[0]}`}\n`);
    process.exit(1);
  }
  await hotprov.startJobs();
  const server = hotprov.app.listen(config.httpPort, config.httpHost, () => {
    log.info('lifecycle', 'hotprov is serving', {
      listen: `${config.httpHost}:${config.httpPort}`,
      baseUrl: config.baseUrl,
      db: config.dbEngine === 'postgres' ? redactedUrl(config.dbPath) : config.dbPath,
      registrar: `${config.registrar.host}:${config.registrar.port}/${config.registrar.transport}`,
    });
  });
  // HTTPS beside HTTP, the same app: phones that cannot do TLS, or have no certificate for it, keep working.
  const { https } = config;
  const secureServer =
    https === null
      ? null
      : createHttpsServer(https, hotprov.app.callback()).listen(https.port, config.httpHost, () => {
          log.info('lifecycle', 'hotprov is serving HTTPS', {
            listen: `${config.httpHost}:${https.port}`,
            phoneBaseUrl: config.phoneBaseUrl,
            clientCertificates: https.clientCaFile === null ? 'not requested' : `verified against ${https.clientCaFile}`,
          });
        });
  const listeners = [
    { server, variable: 'HOTPROV_HTTP_PORT', port: config.httpPort },
    { server: secureServer, variable: 'HOTPROV_HTTPS_PORT', port: https?.port ?? 0 },
  ];
  for (const listener of listeners) {
    listener.server?.on('error', (err: NodeJS.ErrnoException) => {
      const problem =
        err.code === 'EADDRINUSE'
          ? 'is in use by another program'
          : err.code === 'EACCES'
            ? 'may not be bound by this user'
            : `cannot be listened on (${err.message})`;
      process.stderr.write(`hotprov: ${listener.variable} ${listener.port} on ${config.httpHost} ${problem}\n`);
      process.exit(1);
    });
  }
  const closed = (s: { close(done: () => void): unknown } | null) => new Promise<void>((resolve) => (s === null ? resolve() : s.close(() => resolve())));
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    void Promise.all([closed(server), closed(secureServer)]).then(() => hotprov.close().then(() => process.exit(0)));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  let draining = false;
  const stop = (signal: string) => {
    // A second signal while draining stops at once.
    if (draining) return close();
    draining = true;
    // /readyz answers 503 from now; requests are still served for HOTPROV_DRAIN_SECONDS, long enough for a load
    // balancer's health checks to take this node out, so none is sent to a closed port.
    hotprov.readiness.beginShutdown();
    log.info('lifecycle', 'stopping', { signal, drainSeconds: config.drainSeconds });
    if (config.drainSeconds === 0) close();
    else setTimeout(close, config.drainSeconds * 1000);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
