/**
 * The miner's local fallback on every kind of pool failure, each against a real test pool that
 * misbehaves that way, with a real miner process. The good pool is second in failover order; the
 * miner must reach it on its own and say why in its metrics. Then the fleet's word: a runtime
 * revision naming the first pool (now healthy) brings the miner back.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, POOL_PASSWORD, startMiner, waitFor, type MinerProcess } from './helpers.js';

const DIFF = 0.001;
const FAILOVER = {
  fallbackAfterSeconds: 2,
  jobTimeoutSeconds: 3,
  submitTimeoutSeconds: 3,
  maxConsecutiveRejects: 5,
  idleTimeoutSeconds: 60,
  backoff: { initialMs: 200, maxMs: 1000 },
};

describe('miner local fallback', () => {
  let good: StratumPool;
  const miners: MinerProcess[] = [];
  beforeAll(async () => {
    good = await startStratumPool({ difficulty: DIFF });
  });
  afterAll(async () => {
    for (const m of miners) await m.stop();
    await good?.stop();
  });

  const acceptedFor = (pool: StratumPool, pod: string, after = 0) =>
    pool.shares.filter((s) => s.result === 'accepted' && s.worker === `tester.testfleet.${pod}` && s.receivedAt >= after);

  async function runCase(pod: string, bad: { url: string; tls?: Record<string, string> }, reason: string, before?: (m: MinerProcess) => Promise<void>) {
    const cfg = { ...baseConfig([poolEntry('bad', bad.url, bad.tls ? { tls: bad.tls } : {}), poolEntry('good', good.url)], 'bad'), pod, failover: FAILOVER };
    const miner = await startMiner(cfg);
    miners.push(miner);
    onTestFailed(() =>
      console.log(
        miner.logs
          .filter((l) => l.msg !== 'share accepted')
          .slice(-40)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      ),
    );
    if (before) await before(miner);
    await waitFor(`${pod}: shares at the good pool`, () => acceptedFor(good, pod).length >= 2, 90_000);
    await waitFor(
      `${pod}: fallback metric`,
      async () => (await miner.metric('minefleet_miner_pool_fallbacks_total', { from: 'bad', to: 'good', reason })) >= 1,
      10_000,
    );
    expect(await miner.metric('minefleet_miner_local_fallback')).toBe(1);
    expect(await miner.metric('minefleet_miner_active_pool', { pool: 'good' })).toBe(1);
    expect(miner.rawStdout()).not.toContain(POOL_PASSWORD);
    return miner;
  }

  it('connection refused', async () => {
    const p = await startStratumPool({ difficulty: DIFF });
    const url = p.url;
    await p.stop();
    const m = await runCase('refused', { url }, 'connect');
    await m.stop();
  });

  it('TLS failure (certificate does not match the server name)', async () => {
    const p = await startStratumPool({ difficulty: DIFF, tls: true });
    try {
      const m = await runCase('tlsbad', { url: p.url, tls: { caFile: p.caFile!, serverName: 'wrong.minefleet.test' } }, 'tls');
      expect(p.logins).toEqual([]); // the credentials never went to a server we could not verify
      await m.stop();
    } finally {
      await p.stop();
    }
  });

  it('login refused', async () => {
    const p = await startStratumPool({ difficulty: DIFF, behavior: { rejectAuthorize: true } });
    try {
      const m = await runCase('authbad', { url: p.url }, 'authorize');
      await m.stop();
    } finally {
      await p.stop();
    }
  });

  it('login accepted but no job ever (the pool that used to hold miners forever)', async () => {
    const p = await startStratumPool({ difficulty: DIFF, behavior: { neverSendJob: true } });
    try {
      const m = await runCase('nojob', { url: p.url }, 'no_job');
      await m.stop();
    } finally {
      await p.stop();
    }
  });

  it('only invalid jobs', async () => {
    const p = await startStratumPool({ difficulty: DIFF, behavior: { invalidJobs: true } });
    try {
      const m = await runCase('badjobs', { url: p.url }, 'no_job');
      expect(await m.metric('minefleet_miner_bad_messages_total', { pool: 'bad', kind: 'bad_notify' })).toBeGreaterThan(0);
      await m.stop();
    } finally {
      await p.stop();
    }
  });

  it('every share rejected', async () => {
    const p = await startStratumPool({ difficulty: DIFF, behavior: { rejectAll: { code: 23, message: 'Low difficulty share' } } });
    try {
      const m = await runCase('rejects', { url: p.url }, 'rejected');
      expect(p.shares.filter((s) => s.worker === 'tester.testfleet.rejects').length).toBeGreaterThanOrEqual(5);
      await m.stop();
    } finally {
      await p.stop();
    }
  });

  it('stalled pool (connection kept, submits unanswered); the fleet decision brings the miner back', async () => {
    const p = await startStratumPool({ difficulty: DIFF });
    try {
      const m = await runCase('stall', { url: p.url }, 'submit_timeout', async () => {
        await waitFor('shares at the first pool', () => acceptedFor(p, 'stall').length >= 2, 60_000);
        p.setBehavior({ stall: true });
      });
      // The pool recovers; the fleet (runtime channel) says "bad" again with a new revision.
      p.setBehavior({ stall: false });
      const rt = m.writeFile('runtime.json', JSON.stringify({ activePool: 'bad', revision: 1 }));
      m.writeConfig({
        ...baseConfig([poolEntry('bad', p.url), poolEntry('good', good.url)], 'bad'),
        pod: 'stall',
        failover: FAILOVER,
        runtime: { file: { path: rt } },
      });
      await waitFor(
        'runtime revision 1 applied (still on good: runtime said bad before, no change)',
        () => m.logs.some((l) => l.msg === 'runtime state received'),
        20_000,
      );
      const t0 = Date.now();
      m.writeFile('runtime.json', JSON.stringify({ activePool: 'bad', revision: 2 }));
      await waitFor('back at the first pool', () => acceptedFor(p, 'stall', t0).length >= 2, 60_000);
      expect(await m.metric('minefleet_miner_local_fallback')).toBe(0);
      expect(await m.metric('minefleet_miner_pool_switches_total', { from: 'good', to: 'bad', cause: 'runtime' })).toBeGreaterThanOrEqual(1);
      await m.stop();
    } finally {
      await p.stop();
    }
  });
});
