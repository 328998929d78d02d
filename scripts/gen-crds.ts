/**
 * Writes crds/*.yaml from the zod schemas in operator/src/api/v1alpha1.
 *   npx tsx scripts/gen-crds.ts          write the files
 *   npx tsx scripts/gen-crds.ts --check  exit 1 when a committed file differs
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles } from '../operator/src/api/crd/definitions.js';

const crdDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'crds');
const check = process.argv.includes('--check');

await mkdir(crdDir, { recursive: true });
let stale = 0;
for (const [file, text] of Object.entries(renderCrdFiles())) {
  const path = join(crdDir, file);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) {
    console.log(`unchanged ${path}`);
    continue;
  }
  if (check) {
    console.error(`out of date: ${path} (run npm run gen:crds)`);
    stale++;
  } else {
    await writeFile(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exitCode = stale ? 1 : 0;
