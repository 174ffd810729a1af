import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's folders, found from this file's place: one level below the root both as `src/paths.ts` (run
 * through tsx, as the tests do) and as the compiled `dist/paths.js` (what `npm start` runs).
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const PATHS = {
  templates: join(ROOT, 'templates'),
  vendorProfiles: join(ROOT, 'vendor-profiles'),
  migrations: join(ROOT, 'src', 'db', 'migrations'),
  consoleViews: join(ROOT, 'src', 'console', 'views'),
  consoleCss: join(ROOT, 'src', 'console', 'assets', 'console.css'),
  packageJson: join(ROOT, 'package.json'),
} as const;
