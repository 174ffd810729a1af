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
