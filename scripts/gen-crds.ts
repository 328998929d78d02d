/**
 * Writes crds/*.yaml from the zod schemas in operator/src/api/v1alpha1, and the same files into
 * the Helm chart (helm/minefleet/crds/, which Helm installs before the templates).
 *   npx tsx scripts/gen-crds.ts          write the files
 *   npx tsx scripts/gen-crds.ts --check  exit 1 when a committed file (in either place) differs
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles } from '../operator/src/api/crd/definitions.js';
import { renderValuesSchema } from './chart-values-schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Every place the generated CRDs live; the chart keeps byte-identical copies. */
const crdDirs = [join(root, 'crds'), join(root, 'helm', 'minefleet', 'crds')];
const check = process.argv.includes('--check');

let stale = 0;
const files = renderCrdFiles();
for (const crdDir of crdDirs) {
  if (!check) await mkdir(crdDir, { recursive: true });
  for (const [file, text] of Object.entries(files)) {
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
}
// The chart's values.schema.json from its zod schema (scripts/chart-values-schema.ts).
{
  const path = join(root, 'helm', 'minefleet', 'values.schema.json');
  const text = renderValuesSchema();
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) console.log(`unchanged ${path}`);
  else if (check) {
    console.error(`out of date: ${path} (run npm run gen:crds)`);
    stale++;
  } else {
    await writeFile(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exitCode = stale ? 1 : 0;
