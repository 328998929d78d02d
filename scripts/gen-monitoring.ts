/**
 * Writes the Grafana dashboards (JSON, chart and k8s/monitoring), the Grafana sidecar ConfigMaps,
 * the plain Prometheus rules file and the chart's PrometheusRule template from scripts/monitoring/.
 *   npx tsx scripts/gen-monitoring.ts          write the files
 *   npx tsx scripts/gen-monitoring.ts --check  exit 1 when a committed file differs
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMonitoringFiles } from './monitoring/render.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

let stale = 0;
for (const [rel, text] of Object.entries(renderMonitoringFiles())) {
  const path = join(root, rel);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) {
    console.log(`unchanged ${rel}`);
    continue;
  }
  if (check) {
    console.error(`out of date: ${rel} (run npm run gen:monitoring)`);
    stale++;
  } else {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    console.log(`wrote ${rel}`);
  }
}
process.exitCode = stale ? 1 : 0;
