/**
 * Miner hashing speed per thread: our kernels (Node-crypto kernel with per-nonce scryptSync, and the
 * pure-TypeScript scrypt with SHA-256 midstate) beside Node's own crypto.scryptSync / crypto.scrypt
 * on the same header, interleaved in rounds so machine noise hits all alike. Also the whole CPU
 * backend path (worker thread + job + reports) with one thread.
 */
import { randomBytes, scrypt, scryptSync } from 'node:crypto';
import { runBench } from '../miner/src/bench.js';
import { NodeScryptKernel } from '../miner/src/hash/scrypt-node.js';
import { TsScryptKernel } from '../miner/src/hash/scrypt-ts.js';
import type { BenchRow } from './types.js';

const ROUNDS = 5;
const SLICE_MS = 2000;
const OPTS = { N: 1024, r: 1, p: 1, maxmem: 32 * 1024 * 1024 };
const IMPOSSIBLE = new Uint8Array(32); // target 0: nothing is found, pure hashing

type Measure = () => Promise<number>; // returns hashes done in one slice

function timed(fn: (deadline: number) => number | Promise<number>): Measure {
  return async () => {
    const start = performance.now();
    const n = await fn(start + SLICE_MS);
    return (n / (performance.now() - start)) * 1000;
  };
}

export async function run(): Promise<BenchRow[]> {
  const header = randomBytes(80);
  const nodeKernel = new NodeScryptKernel();
  const tsKernel = new TsScryptKernel();
  const measures: Record<string, Measure> = {
    'kernel ts-scrypt': timed((deadline) => {
      let n = 0;
      while (performance.now() < deadline) n += tsKernel.scanNonces(header, n, 16, IMPOSSIBLE).hashes;
      return n;
    }),
    'kernel node-crypto': timed((deadline) => {
      let n = 0;
      while (performance.now() < deadline) n += nodeKernel.scanNonces(header, n, 16, IMPOSSIBLE).hashes;
      return n;
    }),
    'node crypto.scryptSync': timed((deadline) => {
      let n = 0;
      const h = Buffer.from(header);
      while (performance.now() < deadline) {
        h.writeUInt32LE(n, 76);
        scryptSync(h, h, 32, OPTS);
        n++;
      }
      return n;
    }),
    'node crypto.scrypt (async, 1 in flight)': timed(async (deadline) => {
      let n = 0;
      const h = Buffer.from(header);
      while (performance.now() < deadline) {
        h.writeUInt32LE(n, 76);
        await new Promise<void>((resolve, reject) => scrypt(h, h, 32, OPTS, (e) => (e ? reject(e) : resolve())));
        n++;
      }
      return n;
    }),
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
  for (const m of Object.values(measures)) await m(); // warm-up (JIT), not counted
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, m] of Object.entries(measures)) samples[k]!.push(await m());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const khps: Record<string, number> = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v) / 1000]));
  const rows: BenchRow[] = Object.entries(khps).map(([k, v]) => ({
    bench: 'miner',
    metric: `${k} per thread`,
    value: v,
    unit: 'kH/s',
    note: `median of ${ROUNDS} x ${SLICE_MS / 1000}s, main thread`,
  }));
  const ref = khps['node crypto.scryptSync']!;
  rows.push({ bench: 'miner', metric: 'ratio ts-scrypt / node scryptSync', value: khps['kernel ts-scrypt']! / ref, unit: 'x' });
  rows.push({ bench: 'miner', metric: 'ratio node-crypto kernel / node scryptSync', value: khps['kernel node-crypto']! / ref, unit: 'x' });
  rows.push({ bench: 'miner', metric: 'ratio node scrypt async / scryptSync', value: khps['node crypto.scrypt (async, 1 in flight)']! / ref, unit: 'x' });
  for (const kernel of ['node-crypto', 'ts-scrypt']) {
    const b = await runBench('1', '5', kernel);
    rows.push({
      bench: 'miner',
      metric: `cpu backend (${kernel}) 1 worker thread`,
      value: b.khpsPerThread,
      unit: 'kH/s',
      note: 'full path: worker_threads + job + reports',
    });
  }
  return rows;
}
