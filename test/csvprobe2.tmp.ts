import { CONSOLE_PASSWORD } from './helpers/browser.ts';
import { fetchSignInForm, postSignIn } from './helpers/consoleHttp.ts';
import { startTestServer } from './helpers/server.ts';
const t = await startTestServer({ env: { HOTPROV_ADMIN_PASSWORD: CONSOLE_PASSWORD } });
const signedIn = await postSignIn(t.url, await fetchSignInForm(t.url), 'admin', CONSOLE_PASSWORD);
const cookie = (signedIn.headers.getSetCookie() ?? []).map((c) => c.split(';')[0]).join('; ');
const r = await fetch(`${t.url}/console/settings`, { headers: { cookie } });
console.log(r.status, (await r.text()).slice(0, 300));
await t.close();
