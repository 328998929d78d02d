/**
 * Miner kernels side by side in one run: kH/s per thread of every kernel that runs here through the
 * full CPU backend (worker threads) at 1 thread and at all threads, Node's crypto.scryptSync as the
 * in-run yardstick, and pooler's cpuminer (`minerd --benchmark -a scrypt`) when CPUMINER names its
 * binary. Also the process RSS added per hashing thread. `npm run bench -- kernels`.
 */
import { spawn } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { runBench } from '../miner/src/bench.js';
import { availableKernels } from '../miner/src/hash/select.js';
import type { BenchRow } from './types.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);

function scryptSyncKhps(): number {
  const h = randomBytes(80);
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() < end) {
    h.writeUInt32LE(n++, 76);
    scryptSync(h, h, 32, { N: 1024, r: 1, p: 1 });
  }
  return n / (performance.now() - t0);
}

/** cpuminer's own per-thread figure: the median of its "thread N: ... khash/s" lines. */
function cpuminerKhps(bin: string, threads: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['--benchmark', '-a', 'scrypt', '-t', String(threads)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => p.kill('SIGTERM'), (SECONDS * 2 + 5) * 1000);
    p.on('error', reject);
    p.on('exit', () => {
      clearTimeout(timer);
      const xs = [...out.matchAll(/thread \d+: \d+ hashes, ([\d.]+) khash\/s/g)].map((m) => Number(m[1]));
      if (xs.length === 0) return reject(new Error(`cpuminer printed no per-thread rate: ${out.slice(-300)}`));
      xs.sort((a, b) => a - b);
      resolve(xs[Math.floor(xs.length / 2)]!);
    });
  });
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const all = availableParallelism();
  const ref = scryptSyncKhps();
  rows.push({ bench: 'kernels', metric: 'node crypto.scryptSync per thread', value: ref, unit: 'kH/s', note: 'main thread, in-run yardstick' });
  let cpuminer1: number | undefined;
  if (process.env.CPUMINER) {
    cpuminer1 = await cpuminerKhps(process.env.CPUMINER, 1);
    rows.push({ bench: 'kernels', metric: 'cpuminer minerd per thread, 1 thread', value: cpuminer1, unit: 'kH/s' });
    rows.push({ bench: 'kernels', metric: `cpuminer minerd per thread, ${all} threads`, value: await cpuminerKhps(process.env.CPUMINER, all), unit: 'kH/s' });
  }
  for (const kernel of availableKernels()) {
    for (const threads of [...new Set([1, all])]) {
      const rss0 = process.memoryUsage().rss;
      const b = await runBench(String(threads), String(SECONDS), kernel);
      const rssPerThread = (process.memoryUsage().rss - rss0) / threads / 2 ** 20;
      rows.push({
        bench: 'kernels',
        metric: `${b.label} per thread, ${threads} thread(s)`,
        value: b.khpsPerThread,
        unit: 'kH/s',
        note: `x${(b.khpsPerThread / ref).toFixed(2)} scryptSync${cpuminer1 ? `, x${(b.khpsPerThread / cpuminer1).toFixed(2)} cpuminer` : ''}, RSS +${rssPerThread.toFixed(1)} MiB/thread`,
      });
    }
  }
  return rows;
}
