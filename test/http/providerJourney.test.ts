import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { signInOverHttp } from '../helpers/consoleHttp.ts';
import { LOOPBACK_NETWORKS, startTestServer, type TestServer } from '../helpers/server.ts';
import { callAs, tenantWithToken } from '../helpers/tenants.ts';

/**
 * Issue 15's "Done when", as a provider lives it, over real HTTP and a real database: three customers on one
 * hotprov, each run by its own admin, each with a user 101 and phones of every vendor, and nothing of one customer
 * in another's board, sessions or phone files.
 */

const PROVIDER_PASSWORD = 'provider-console-password';

interface Customer {
  readonly slug: string;
  readonly name: string;
  /** Its own PBX domain, login code and idle-account pattern: what keeps it apart on a shared PBX. */
  readonly registrar: string;
  readonly loginCode: string;
  readonly idlePattern: string;
  /** One phone of each vendor: [MAC, vendor, model, the file it fetches, its User-Agent]. */
  readonly phones: readonly (readonly [string, string, string, string, string])[];
  readonly user: { readonly displayName: string; readonly sipPassword: string; readonly pin: string };
  /** The line its admin adds to the Yealink device template. */
  readonly templateLine: string;
}

const ua = {
  yealink: (mac: string) => `Yealink SIP-T54W 96.86.0.70 ${mac.replace(/(..)(?!$)/g, '$1:')}`,
  snom: (mac: string) => `Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 ${mac.toUpperCase()} SXM:0 UXM:0)`,
  polycom: () => 'FileTransport PolycomVVX-VVX_450-UA/5.9.1.0615 Type/Application',
};

function customer(slug: string, name: string, n: string, loginCode: string, pin: string): Customer {
  const yealink = `805ec0${n}0001`;
  const snom = `000413${n}0002`;
  const poly = `0004f2${n}0003`;
  return {
    slug,
    name,
    registrar: `sip.${slug}.pbx.example.test`,
    loginCode,
    idlePattern: `${slug}-hd{n:3}`,
    phones: [
      [yealink, 'yealink', 'T54W', `/${yealink}.cfg`, ua.yealink(yealink)],
      [snom, 'snom', 'D785', `/${snom}.xml`, ua.snom(snom)],
      [poly, 'polycom', 'VVX450', `/${poly}-hotprov.cfg`, ua.polycom()],
    ],
    user: { displayName: `${name} Desk User`, sipPassword: `${slug}-sip-password-101`, pin },
    templateLine: `# ${slug} own template line`,
  };
}

const CUSTOMERS = [
  customer('acme', 'Acme', 'a1', '*35', '482615'),
  customer('bravo', 'Bravo', 'b2', '*36', '593726'),
  customer('cedar', 'Cedar', 'c3', '*37', '604837'),
];

/** Every value of a customer that no other customer may ever see. */
const valuesOf = (c: Customer) => [c.registrar, c.user.sipPassword, c.user.displayName, c.templateLine, `${c.slug}-hd`, ...c.phones.map((p) => p[0])];

/** The template textarea's text, as the browser would submit it back. */
function textareaSource(html: string): string {
  const source = /<textarea[^>]*name="source"[^>]*>([\s\S]*?)<\/textarea>/.exec(html)?.[1] ?? '';
  return source
    .replace(/&#x3D;/g, '=')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const Journey = suite<{ t: TestServer }>('provider journey: three tenants on one hotprov', {} as { t: TestServer });
Journey.before.each(async (ctx) => {
  ctx.t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: PROVIDER_PASSWORD } });
});
Journey.after.each(({ t }) => t.close());

Journey('a provider sets up acme, bravo and cedar; each admin runs its own; each sees and serves only its own', async ({ t }) => {
  const ok = async (status: number, answer: Promise<{ status: number; text: string }>) => {
    const res = await answer;
    assert.is(res.status, status, res.text);
    return res;
  };

  // 1. The provider creates three tenants over the API, an admin token for each, and a console account for each.
  const provider = await signInOverHttp(t.url, 'admin', PROVIDER_PASSWORD);
  const tokens = new Map<string, string>();
  for (const c of CUSTOMERS) {
    tokens.set(c.slug, await tenantWithToken(t, c.slug, c.name));
    await provider.post('/console/tenant', { tenant: c.slug });
    const made = await provider.submit('/console/admins', { username: `${c.slug}-admin`, password: `${c.slug}-console-password`, role: 'admin' });
    assert.match(made.body, /Account created/);
  }
  const tokenOf = (c: Customer) => tokens.get(c.slug) ?? '';

  // 2. Each tenant's admin, with its own token at plain /api/v1 and its own console account, sets up its office.
  for (const c of CUSTOMERS) {
    const api = (method: string, path: string, body?: unknown) => callAs(t, tokenOf(c), method, `/api/v1${path}`, body);
    await ok(
      200,
      api('PATCH', '/tenant', {
        registrarHost: c.registrar,
        loginCode: c.loginCode,
        idleAccountPattern: c.idlePattern,
        trustedNetworks: [...LOOPBACK_NETWORKS],
      }),
    );
    for (const [mac, vendor, model] of c.phones)
      await ok(201, api('POST', '/devices', { mac, vendor, model, hotdesk: true, label: `${c.name} ${vendor} desk` }));
    await ok(201, api('POST', '/users', { extension: '101', ...c.user, hotdesk: true }));

    const console = await signInOverHttp(t.url, `${c.slug}-admin`, `${c.slug}-console-password`);
    const template = '/console/templates/yealink/device.cfg';
    const source = textareaSource((await console.get(template)).body);
    const saved = await console.post(template, { source: `${source}\n${c.templateLine}\n`, action: 'save' });
    assert.ok(saved.status < 400, `${c.slug}: saving the template answered ${saved.status}`);

    // 101 dials the tenant's own login code at the Yealink; the PBX passes it on with the tenant's token.
    const [yealinkMac] = c.phones[0] ?? [''];
    const dialled = await ok(200, api('POST', '/hotdesk/code', { device: yealinkMac, digits: `${c.loginCode}*101*${c.user.pin}` }));
    assert.equal(JSON.parse(dialled.text).result, 'logged_in', dialled.text);
  }

  for (const c of CUSTOMERS) {
    const others = CUSTOMERS.filter((o) => o !== c).flatMap(valuesOf);
    const [yealinkMac] = c.phones[0] ?? [''];

    // 3. Each admin's sessions and board show its own desk, and nothing of the others'.
    const sessions = await callAs(t, tokenOf(c), 'GET', '/api/v1/hotdesk/sessions');
    assert.equal(
      sessions.body.map((s: { user: { extension: string; displayName: string } }) => s.user.displayName),
      [c.user.displayName],
    );
    assert.ok(sessions.text.includes(yealinkMac) || sessions.text.includes(`${c.slug}-hd001`), sessions.text);
    const board = (await (await signInOverHttp(t.url, `${c.slug}-admin`, `${c.slug}-console-password`)).get('/console/')).body;
    assert.ok(board.includes(c.user.displayName), `${c.slug}'s board shows its seated user`);
    for (const v of others) {
      assert.not.ok(sessions.text.includes(v), `${c.slug}'s sessions show ${v}`);
      assert.not.ok(board.includes(v), `${c.slug}'s board shows ${v}`);
    }

    // 4. Each phone, with its own credentials, gets its tenant's registrar; the seated Yealink also 101's own
    //    password and the tenant's template line. No file holds another tenant's anything.
    for (const [mac, vendor, , file, userAgent] of c.phones) {
      const res = await t.phone(file, userAgent);
      assert.is(res.status, 200, `${c.slug} ${vendor} ${file}`);
      const body = await res.text();
      assert.ok(body.includes(c.registrar), `${c.slug}'s ${vendor} gets its registrar`);
      if (mac === yealinkMac) {
        assert.match(body, new RegExp(`^account\\.1\\.password = ${c.user.sipPassword}$`, 'm'));
        assert.ok(body.includes(c.templateLine), `${c.slug}'s Yealink gets its own template line`);
      }
      for (const v of others) assert.not.ok(body.includes(v), `${c.slug}'s ${vendor} file holds ${v}`);
    }
  }
});

Journey.run();
