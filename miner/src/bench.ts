/** `miner bench`: hash a synthetic job on the CPU backend for a while and report kH/s. */
import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { CpuBackend } from './backends/cpu/backend.js';
import { createKernel, DEFAULT_KERNEL, isKernelName, KERNEL_NAMES, KernelUnavailableError } from './hash/select.js';
import { ExitError } from './miner.js';
import { Job } from './work/job.js';

export interface BenchOutput {
  kernel: string;
  label: string;
  threads: number;
  seconds: number;
  hashes: number;
  khps: number;
  khpsPerThread: number;
}

/** A synthetic job whose share target no hash meets (difficulty 1e12): pure hashing, nothing to submit. */
export function benchJob(): Job {
  return new Job(
    {
      jobId: 'bench',
      prevhash: '00'.repeat(32),
      coinb1: '01000000010000',
      coinb2: 'ffffffff',
      merkleBranch: [],
      version: '20000000',
      nbits: '1e0ffff0',
      ntime: '5f5e1000',
      cleanJobs: true,
    },
    { extranonce1: '00000000', extranonce2Size: 4, difficulty: 1e12 },
  );
}

export async function runBench(threadsArg?: string, secondsArg?: string, kernelArg?: string): Promise<BenchOutput> {
  const threads = threadsArg === undefined ? availableParallelism() : Number(threadsArg);
  const seconds = secondsArg === undefined ? 10 : Number(secondsArg);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw new ExitError(`bench: --threads must be an integer 1..1024, got '${threadsArg}'`, 2);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw new ExitError(`bench: --seconds must be a number in (0, 3600], got '${secondsArg}'`, 2);
  if (kernelArg !== undefined && !isKernelName(kernelArg))
    throw new ExitError(`bench: --kernel must be one of ${KERNEL_NAMES.join(' | ')}, got '${kernelArg}'`, 2);
  let kernel: string;
  let label: string;
  try {
    // Resolve here (auto -> a concrete kernel) so every worker runs the same one and the output names it.
    const k = createKernel(kernelArg !== undefined && isKernelName(kernelArg) ? kernelArg : DEFAULT_KERNEL);
    kernel = k.name;
    label = k.label;
  } catch (e) {
    if (e instanceof KernelUnavailableError) throw new ExitError(`bench: ${e.message}`, 2);
    throw e;
  }
  let hashes = 0;
  let counting = false;
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
  const job = benchJob();
  backend.setJob(job);
  await new Promise((r) => setTimeout(r, 500)); // warm-up (JIT)
  counting = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  backend.idle();
  await new Promise((r) => setTimeout(r, 300)); // last reports
  const elapsed = (performance.now() - start) / 1000;
  counting = false;
  await backend.stop();
  const khps = hashes / elapsed / 1000;
  return {
    kernel,
    label,
    threads,
    seconds: Math.round(elapsed * 100) / 100,
    hashes,
    khps: Math.round(khps * 1000) / 1000,
    khpsPerThread: Math.round((khps / threads) * 1000) / 1000,
  };
}
