import { scryptSync } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend, type FoundShare } from '../../miner/src/backends/cpu/backend.js';
import { Job } from '../../miner/src/work/job.js';
import { leBytesToBigInt } from '../../miner/src/work/target.js';
import { waitFor } from './helpers.js';

const job = (id: string, difficulty: number) =>
  new Job(
    {
      jobId: id,
      prevhash: '11'.repeat(32),
      coinb1: '0100',
      coinb2: 'ffffffff',
      merkleBranch: ['22'.repeat(32)],
      version: '20000000',
      nbits: '1e0ffff0',
      ntime: '6b000000',
      cleanJobs: true,
    },
    { extranonce1: 'abcdef01', extranonce2Size: 4, difficulty },
  );

describe('CPU backend (worker threads)', () => {
  let backend: CpuBackend | undefined;
  afterEach(async () => {
    await backend?.stop();
    backend = undefined;
  });

  it('two threads hash distinct work; every found share really meets the target', async () => {
    const found: FoundShare[] = [];
    const hashes = [0, 0];
    backend = new CpuBackend({
      threads: 2,
      kernel: 'node-crypto',
      log: pino({ level: 'silent' }),
      onHashes: (t, n) => (hashes[t]! += n),
      onFound: (s) => found.push(s),
    });
    await backend.start();
    backend.setJob(job('j1', 0.002));
    await waitFor('shares from both threads', () => new Set(found.map((f) => f.thread)).size === 2 && found.length >= 6, 90_000);
    expect(hashes[0]).toBeGreaterThan(0);
    expect(hashes[1]).toBeGreaterThan(0);
    const en2ByThread = new Map<number, Set<string>>();
    for (const f of found) {
      const header = Buffer.from(f.work.header);
      header.writeUInt32LE(f.nonce, 76);
      const pow = scryptSync(header, header, 32, { N: 1024, r: 1, p: 1 });
      expect(Buffer.from(f.hashLe).equals(pow)).toBe(true);
      expect(leBytesToBigInt(pow) <= f.work.shareTarget).toBe(true);
      expect(f.nonce >= f.work.nonceStart && f.nonce < f.work.nonceStart + f.work.nonceCount).toBe(true);
      if (!en2ByThread.has(f.thread)) en2ByThread.set(f.thread, new Set());
      en2ByThread.get(f.thread)!.add(f.work.extranonce2);
    }
    const [a, b] = [en2ByThread.get(0)!, en2ByThread.get(1)!];
    expect([...a].some((x) => b.has(x))).toBe(false);
  });

  it('a hashing thread that dies is restarted and hashes again', async () => {
    const found: FoundShare[] = [];
    backend = new CpuBackend({ threads: 1, kernel: 'ts-scrypt', log: pino({ level: 'silent' }), onHashes: () => {}, onFound: (s) => found.push(s) });
    await backend.start();
    backend.setJob(job('j2', 0.002));
    await waitFor('a share', () => found.length >= 1, 90_000);
    // Kill the thread from outside, as a crash would (the backend keeps its workers private).
    const slots = (backend as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots;
    await slots[0]!.worker.terminate();
    const after = found.length;
    await waitFor('shares after the restart', () => found.length >= after + 2, 90_000);
  });
});
