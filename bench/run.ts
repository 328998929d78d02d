// Runs every bench/*.bench.ts (or those named on the command line), prints one table and
// writes the rows as JSON to bench/results/<timestamp>.json and bench/results/latest.json.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchModule, BenchRow } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

function printTable(rows: BenchRow[]): void {
  const header = ['bench', 'metric', 'value', 'unit', 'note'];
  const cells = rows.map((r) => [r.bench, r.metric, formatValue(r.value), r.unit, r.note ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 2 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const files = (await readdir(here))
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
    .sort();
  if (files.length === 0) throw new Error(`no benchmark matches ${wanted.join(', ') || 'bench/*.bench.ts'}`);

  const rows: BenchRow[] = [];
  const failures: string[] = [];
  for (const file of files) {
    const started = Date.now();
    console.error(`[bench] ${file} ...`);
    try {
      const mod = (await import(pathToFileURL(join(here, file)).href)) as BenchModule;
      const got = await mod.run();
      rows.push(...got);
      console.error(`[bench] ${file} done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    } catch (err) {
      failures.push(`${file}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      console.error(`[bench] ${file} FAILED: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  printTable(rows);
  const out = { startedAt: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, rows, failures };
  const dir = join(here, 'results');
  await mkdir(dir, { recursive: true });
  const json = JSON.stringify(out, null, 2);
  await writeFile(join(dir, `${out.startedAt.replace(/[:.]/g, '-')}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  console.log(json);
  if (failures.length > 0) process.exitCode = 1;
}

await main();
