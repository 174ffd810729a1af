import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (package chromium), headless, with nothing reaching outside the machine. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // Tests reach hotprov on loopback only: every other host name fails inside Chromium, never asked of DNS.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
}

/** The admin password the console tests start hotprov with (HOTPROV_ADMIN_PASSWORD). */
export const CONSOLE_PASSWORD = 'correct-horse-battery';

/** Signs in on the console's sign-in page as `admin`, as a person would. */
export async function signInToConsole(page: Page, baseUrl: string, password = CONSOLE_PASSWORD): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}
