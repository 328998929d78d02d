/**
 * Child process of bench/miner-kernels.bench.ts: the miner's RSS with no hashing thread (base) and while
 * `threads` workers of `kernel` hash (sampled every 100 ms after a warm-up). Runs in a fresh process
 * so that no memory freed by an earlier measurement is reused and hides the cost of a thread.
 * Prints one JSON line: { base, samples } in bytes.
 *   node --import tsx bench/kernel-rss.ts <kernel> <threads> <seconds>
 */
import { pino } from 'pino';
import { CpuBackend } from '../miner/src/backends/cpu/backend.js';
import { benchJob } from '../miner/src/bench.js';

const [kernel, threadsArg, secondsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const seconds = Number(secondsArg);
if (!kernel || !Number.isInteger(threads) || threads < 1 || !(seconds > 0)) throw new Error('usage: kernel-rss.ts <kernel> <threads> <seconds>');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rss = () => process.memoryUsage().rss;

const base: number[] = [];
for (let i = 0; i < 5; i++) {
  base.push(rss());
  await sleep(20);
}
let hashes = 0;
const backend = new CpuBackend({ threads, kernel, log: pino({ level: 'silent' }), onHashes: (_t, n) => (hashes += n), onFound: () => {} });
await backend.start();
backend.setJob(benchJob());
await sleep(500);
const samples: number[] = [];
const end = performance.now() + seconds * 1000;
while (performance.now() < end) {
  samples.push(rss());
  await sleep(100);
}
backend.idle();
await backend.stop();
if (hashes === 0) throw new Error(`kernel ${kernel}: no hashes while sampling RSS`);
process.stdout.write(JSON.stringify({ base: Math.min(...base), samples }) + '\n');
