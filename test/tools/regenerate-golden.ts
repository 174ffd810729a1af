/**
 * Rewrites test/golden/ from the current templates and vendor profiles: `npm run golden`.
 * Review the diff: it is exactly what phones will receive differently.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GOLDEN_DIR, renderGoldenFiles } from '../helpers/golden.ts';

const files = await renderGoldenFiles();
rmSync(GOLDEN_DIR, { recursive: true, force: true });
for (const file of files) {
  const path = join(GOLDEN_DIR, file.path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.body);
}
process.stdout.write(`wrote ${files.length} golden files to ${GOLDEN_DIR}\n`);
