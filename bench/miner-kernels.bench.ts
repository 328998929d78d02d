/**
 * Miner kernels side by side, interleaved so that every row sees the same machine load: R rounds,
 * each round runs every cell for a short slice (Node's crypto.scryptSync on the main thread as the
 * in-run yardstick, pooler's cpuminer `minerd --benchmark -a scrypt` at 1 and at all threads when
 * CPUMINER names its binary, and every kernel that runs here through the full CPU backend at 1 and
 * at all threads). A row is the median over rounds; its ratios (to cpuminer at the same thread
 * count, to scryptSync, and the scaling from 1 to all threads) are computed within each round and
 * then the median is taken, so a burst of load from elsewhere moves both sides of a ratio alike.
 * RSS per thread comes from a fresh child process per kernel, sampled while its workers hash.
 *   npm run bench -- miner-kernels     (BENCH_ROUNDS, BENCH_SECONDS per slice, BENCH_KERNELS=a,b to pick)
 */
import { spawn } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { CpuBackend } from '../miner/src/backends/cpu/backend.js';
import { benchJob } from '../miner/src/bench.js';
import { availableKernels, createKernel } from '../miner/src/hash/select.js';
import type { BenchRow } from './types.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const RSS_SECONDS = 1.5;
const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One thing measured once per round: kH/s per thread over a slice of `seconds`. */
interface Cell {
  key: string;
  threads: number;
  /** Needs a warm-up slice first (JIT, page faults of worker scratchpads); cpuminer drops its own first scan. */
  warm: boolean;
  slice(seconds: number): Promise<number>;
}

function scryptSyncCell(): Cell {
  const h = randomBytes(80);
  let n = 0;
  return {
    key: 'scryptSync',
    threads: 1,
    warm: true,
    async slice(seconds) {
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      let c = 0;
      while (performance.now() < end) {
        h.writeUInt32LE(n++ >>> 0, 76);
        scryptSync(h, h, 32, { N: 1024, r: 1, p: 1 });
        c++;
      }
      return c / (performance.now() - t0);
    },
  };
}

/**
 * cpuminer for one slice. With --scantime 1 every thread prints "thread N: H hashes, R khash/s" about
 * once a second; the first line of each thread (a short calibration scan) is dropped, the rest give
 * hashes / time per thread, and the cell's figure is their mean per thread.
 */
function cpuminerCell(bin: string, threads: number): Cell {
  return {
    key: `cpuminer@${threads}`,
    threads,
    warm: false,
    slice: (seconds) =>
      new Promise((resolve, reject) => {
        const p = spawn(bin, ['--benchmark', '-a', 'scrypt', '-t', String(threads), '-s', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
        const per = new Map<number, { lines: number; hashes: number; ms: number }>();
        let out = '';
        let seen = 0;
        const t0 = performance.now();
        const parse = () => {
          const re = /thread (\d+): (\d+) hashes, ([\d.]+) khash\/s/g;
          re.lastIndex = seen;
          for (let m = re.exec(out); m; m = re.exec(out)) {
            seen = re.lastIndex;
            const e = per.get(Number(m[1])) ?? { lines: 0, hashes: 0, ms: 0 };
            if (e.lines++ > 0 && Number(m[3]) > 0) {
              e.hashes += Number(m[2]);
              e.ms += Number(m[2]) / Number(m[3]);
            }
            per.set(Number(m[1]), e);
          }
          // Enough: the slice is over and every thread has finished a measured scan (on a loaded
          // machine that can take longer than the slice).
          const measured = [...per.values()].filter((e) => e.ms > 0).length;
          if (performance.now() - t0 >= seconds * 1000 && measured >= threads) p.kill('SIGTERM');
        };
        const onData = (c: Buffer) => {
          out += c.toString();
          parse();
        };
        p.stdout.on('data', onData);
        p.stderr.on('data', onData);
        const tick = setInterval(parse, 100);
        const cap = setTimeout(() => p.kill('SIGTERM'), (seconds * 5 + 10) * 1000);
        p.on('error', reject);
        p.on('exit', () => {
          clearInterval(tick);
          clearTimeout(cap);
          const rates = [...per.values()].filter((e) => e.ms > 0).map((e) => e.hashes / e.ms);
          if (rates.length < threads) return reject(new Error(`cpuminer -t ${threads} reported ${rates.length} measured thread(s): ${out.slice(-300)}`));
          resolve(rates.reduce((x, y) => x + y, 0) / rates.length);
        });
      }),
  };
}

/**
 * A kernel through the real CPU backend, its workers started once and kept: a slice gives them the
 * bench job, and counts every hash they report from then until their flush after idle().
 */
async function kernelCell(kernel: string, threads: number): Promise<Cell & { stop(): Promise<void> }> {
  let counting = false;
  let hashes = 0;
  const backend = new CpuBackend({
    threads,
    kernel,
    log: pino({ level: 'silent' }),
    onHashes: (_t, n) => {
      if (counting) hashes += n;
    },
    onFound: () => {},
  });
  await backend.start();
  return {
    key: `${kernel}@${threads}`,
    threads,
    warm: true,
    async slice(seconds) {
      hashes = 0;
      counting = true;
      const t0 = performance.now();
      backend.setJob(benchJob());
      await sleep(seconds * 1000);
      backend.idle();
      const elapsed = performance.now() - t0;
      await sleep(300); // the workers' last reports (they flush on idle)
      counting = false;
      return hashes / elapsed / threads;
    },
    stop: () => backend.stop(),
  };
}

/** RSS of a fresh miner process before any hashing thread and while `threads` workers hash. */
function rssPerThread(kernel: string, threads: number): Promise<{ base: number; during: number; perThread: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'kernel-rss.ts'), kernel, String(threads), String(RSS_SECONDS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (err += c));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`kernel-rss ${kernel} exited ${code}: ${err.slice(-300)}`));
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as { base: number; samples: number[] };
      const during = median(r.samples);
      resolve({ base: r.base, during, perThread: (during - r.base) / threads });
    });
  });
}

export async function run(): Promise<BenchRow[]> {
  const all = availableParallelism();
  const counts = [...new Set([1, all])];
  const wanted = process.env.BENCH_KERNELS?.split(',').filter(Boolean);
  // `native` is the widest native-* path under another name: measured once, as that path.
  const kernels = availableKernels().filter((k) => k !== 'native' && (!wanted || wanted.includes(k)));
  const autoLabel = createKernel('auto').label;

  const cells: Cell[] = [scryptSyncCell()];
  if (process.env.CPUMINER) for (const t of counts) cells.push(cpuminerCell(process.env.CPUMINER, t));
  const kernelCells: Array<Cell & { stop(): Promise<void> }> = [];
  const labels = new Map<string, string>();
  try {
    for (const k of kernels) {
      labels.set(k, createKernel(k).label);
      for (const t of counts) kernelCells.push(await kernelCell(k, t));
    }
    cells.push(...kernelCells);

    // One short warm-up pass (JIT, page faults of the scratchpads), then the measured rounds; each
    // round starts one cell later so no cell always runs first or last.
    for (const c of cells) if (c.warm) await c.slice(Math.min(0.5, SECONDS));
    const rounds: Map<string, number>[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const got = new Map<string, number>();
      for (let i = 0; i < cells.length; i++) {
        const c = cells[(i + r) % cells.length]!;
        got.set(c.key, await c.slice(SECONDS));
      }
      rounds.push(got);
      console.error(`[bench] kernels round ${r + 1}/${ROUNDS} done`);
    }

    const med = (f: (round: Map<string, number>) => number) => median(rounds.map(f));
    const ref = med((m) => m.get('scryptSync')!);
    const rows: BenchRow[] = [
      {
        bench: 'kernels',
        metric: 'node crypto.scryptSync per thread',
        value: ref,
        unit: 'kH/s',
        note: `main thread, in-run yardstick; median of ${ROUNDS} interleaved rounds of ${SECONDS}s`,
      },
    ];
    if (process.env.CPUMINER)
      for (const t of counts)
        rows.push({
          bench: 'kernels',
          metric: `cpuminer minerd per thread, ${t} thread(s)`,
          value: med((m) => m.get(`cpuminer@${t}`)!),
          unit: 'kH/s',
          note: `x${med((m) => m.get(`cpuminer@${t}`)! / m.get('scryptSync')!).toFixed(2)} scryptSync`,
        });
    for (const k of kernels) {
      const rss = await rssPerThread(k, all);
      for (const t of counts) {
        const key = `${k}@${t}`;
        const notes = [`x${med((m) => m.get(key)! / m.get('scryptSync')!).toFixed(2)} scryptSync`];
        if (process.env.CPUMINER) notes.unshift(`x${med((m) => m.get(key)! / m.get(`cpuminer@${t}`)!).toFixed(2)} cpuminer`);
        if (t > 1) notes.push(`scaling x${med((m) => m.get(key)! / m.get(`${k}@1`)!).toFixed(2)} per thread vs 1`);
        if (t === all)
          notes.push(
            `RSS +${(rss.perThread / 2 ** 20).toFixed(1)} MiB/thread (${(rss.base / 2 ** 20).toFixed(0)} -> ${(rss.during / 2 ** 20).toFixed(0)} MiB at ${all} threads)`,
          );
        rows.push({
          bench: 'kernels',
          metric: `${labels.get(k)}${labels.get(k) === autoLabel ? ' (auto)' : ''} per thread, ${t} thread(s)`,
          value: med((m) => m.get(key)!),
          unit: 'kH/s',
          note: notes.join(', '),
        });
      }
    }
    return rows;
  } finally {
    for (const c of kernelCells) await c.stop();
  }
}
