import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readBootstrap } from './helpers/bootstrap.ts';
import { basicAuthorization } from './helpers/server.ts';
import { createTestPki, httpsRequest } from './helpers/tls.ts';

/**
 * `npm start` as a newcomer runs it: compiles to dist/ and starts the compiled hotprov. The compiled copy lives
 * in another folder than the sources, so this proves it still finds its migrations, templates, vendor profiles
 * and console files.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'start-test-token-0123456789abcdef';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilServing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error('hotprov did not start within 90 s');
}

const Start = suite('npm start');

Start('compiles, migrates a fresh database and serves the console, the API and phones, over HTTP and HTTPS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hotprov-start-'));
  const pki = createTestPki();
  const port = await freePort();
  const httpsPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Its own process group: npm and the hotprov it starts stop together.
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOTPROV_DB: join(dir, 'hotprov.db'),
      HOTPROV_HTTP_PORT: String(port),
      HOTPROV_HTTP_HOST: '127.0.0.1',
      HOTPROV_SIP_PORT: '0',
      HOTPROV_ADMIN_TOKEN: TOKEN,
      HOTPROV_BASE_URL: url,
      ...pki.env(),
      HOTPROV_HTTPS_PORT: String(httpsPort),
    },
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  try {
    await waitUntilServing(`${url}/console/login`, child);
    const login = await fetch(`${url}/console/login`);
    assert.is(login.status, 200);
    assert.match(await login.text(), /<form[^>]*method="post"/i, 'the sign-in page, from the console views');
    const css = await fetch(`${url}/console/assets/console.css`);
    assert.is(css.status, 200);
    assert.ok((await css.text()).length > 100, 'the console style sheet');
    const enrolled = await fetch(`${url}/api/v1/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mac: '805ec0112233', vendor: 'yealink', model: 'T46U' }),
    });
    assert.is(enrolled.status, 201, 'the migrated schema takes a device');
    const ua = { 'user-agent': 'Yealink SIP-T46U 108.86.0.40' };
    const first = await fetch(`${url}/805ec0112233.cfg`, { headers: ua });
    const phone = readBootstrap('yealink', await first.text());
    const approved = await fetch(`${url}/api/v1/devices/805ec0112233/activate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.is(approved.status, 200, 'the claimed phone is approved');
    const file = await fetch(`${url}/prov/805ec0112233.cfg`, { headers: { ...ua, authorization: basicAuthorization(phone.username, phone.password) } });
    assert.is(file.status, 200);
    assert.match(await file.text(), /^account\.1\.user_name = HD0001$/m, 'the idle profile, from the templates and the vendor profile');
    // The HTTPS listener beside it, asking phones for their certificates.
    const secure = await httpsRequest(`https://127.0.0.1:${httpsPort}/console/login`, { ca: pki.serverCaPem, client: pki.deviceCertificate('805ec0112233') });
    assert.is(secure.status, 200);
    assert.match(secure.body, /<form[^>]*method="post"/i, 'the same console over HTTPS');
  } catch (err) {
    throw new Error(`${(err as Error).message}\nnpm start said:\n${stderr}`);
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
    rmSync(dir, { recursive: true, force: true });
    pki.remove();
  }
});

Start.run();
