/** The console's sign-in over plain HTTP, as a script (or an attacker) would do it: form first, then the POST. */

export interface SignInForm {
  /** The Cookie header to send back (the form's CSRF cookie). */
  readonly cookie: string;
  /** The hidden `_csrf` field of the form. */
  readonly csrf: string;
}

/** Fetches the sign-in page and keeps what its form needs. */
export async function fetchSignInForm(baseUrl: string, headers: Record<string, string> = {}): Promise<SignInForm> {
  const res = await fetch(`${baseUrl}/console/login`, { headers });
  const html = await res.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const cookie = (res.headers.getSetCookie() ?? []).map((c) => c.split(';')[0]).join('; ');
  return { cookie, csrf };
}

/** Posts the sign-in form with a user name and password; one form may be used by many posts. */
export function postSignIn(baseUrl: string, form: SignInForm, username: string, password: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/console/login`, {
    method: 'POST',
    headers: { cookie: form.cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ _csrf: form.csrf, username, password }),
    redirect: 'manual',
  });
}

/** A signed-in console over plain HTTP: pages fetched and forms posted with the session cookie and its CSRF token. */
export interface ConsoleClient {
  readonly username: string;
  /** The session's CSRF token, as every form of its pages carries it. */
  readonly csrf: string;
  /** GETs a console path (redirects not followed). */
  get(path: string): Promise<{ status: number; location: string | null; body: string }>;
  /** POSTs a form with the session's CSRF token unless `_csrf` is given (redirects not followed). */
  post(path: string, fields?: Record<string, string>): Promise<{ status: number; location: string | null; body: string }>;
  /** POSTs a form and, when answered with a redirect, GETs where it points: what a browser ends up showing. */
  submit(path: string, fields?: Record<string, string>): Promise<{ status: number; body: string; steps: string[] }>;
}

/**
 * Signs in over HTTP as a script would and returns a client of that session.
 * @throws Error when the sign-in is refused.
 */
export async function signInOverHttp(baseUrl: string, username: string, password: string): Promise<ConsoleClient> {
  const form = await fetchSignInForm(baseUrl);
  const signedIn = await postSignIn(baseUrl, form, username, password);
  const session = (signedIn.headers.getSetCookie() ?? [])
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.startsWith('hotprov_session=') && c !== 'hotprov_session=');
  if (signedIn.status !== 302 || session === undefined) throw new Error(`sign-in of ${username} refused: ${signedIn.status}`);
  const request = async (method: string, path: string, body?: URLSearchParams) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { cookie: session, ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(body === undefined ? {} : { body }),
      redirect: 'manual',
    });
    return { status: res.status, location: res.headers.get('location'), body: await res.text() };
  };
  const board = await request('GET', '/console/');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(board.body)?.[1] ?? '';
  const post = (path: string, fields: Record<string, string> = {}) => request('POST', path, new URLSearchParams({ _csrf: csrf, ...fields }));
  return {
    username,
    csrf,
    get: (path) => request('GET', path),
    post,
    async submit(path, fields) {
      const first = await post(path, fields);
      if (first.location === null) return { status: first.status, body: first.body, steps: [first.body] };
      const next = await request('GET', new URL(first.location, baseUrl).pathname);
      return { status: next.status, body: next.body, steps: [first.body, next.body] };
    },
  };
}
