/**
 * Live pool switching in a running miner process (same PID): config file change, the runtime
 * file channel, and automatic fallback when the active pool dies.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, startMiner, waitFor, type MinerProcess } from './helpers.js';

const DIFF = 0.001; // ~40 shares/s at full speed: hashing time stays small next to the 1 s budget even on a loaded machine

let worker = '';
/** Accepted shares of the current test's miner (pod names differ per test) since `after`. */
const acceptedAt = (pool: StratumPool, after: number) => pool.shares.filter((s) => s.result === 'accepted' && s.receivedAt >= after && s.worker === worker);
function podConfig(pod: string, ...args: Parameters<typeof baseConfig>) {
  worker = `tester.testfleet.${pod}`;
  return { ...baseConfig(...args), pod };
}

describe('live pool switch', () => {
  let a: StratumPool;
  let b: StratumPool;
  const miners: MinerProcess[] = [];
  beforeAll(async () => {
    a = await startStratumPool({ difficulty: DIFF });
    b = await startStratumPool({ difficulty: DIFF });
  });
  afterAll(async () => {
    for (const m of miners) await m.stop();
    await a?.stop();
    await b?.stop();
  });

  it('config file: activePool A -> B moves shares to B within 1 s, same process', async () => {
    const cfg = podConfig('cfgswitch', [poolEntry('a', a.url), poolEntry('b', b.url)], 'a');
    const miner = await startMiner(cfg);
    miners.push(miner);
    await waitFor('shares at A', () => acceptedAt(a, 0).length >= 3, 60_000);
    const pid = miner.pid;
    const t0 = Date.now();
    miner.writeConfig({ ...cfg, activePool: 'b' });
    await waitFor('shares at B', () => acceptedAt(b, t0).length >= 1, 60_000, 20);
    const first = acceptedAt(b, t0)[0]!;
    console.log(`config switch: first share at the new pool ${first.receivedAt - t0} ms after the config write`);
    expect(first.receivedAt - t0).toBeLessThan(1000);
    expect(miner.alive()).toBe(true);
    expect(miner.pid).toBe(pid);
    expect(miner.logs.filter((l) => l.msg === 'metrics server listening')).toHaveLength(1); // never restarted
    // A gets nothing new once in-flight submits (and shares already found for its jobs) are done.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = Date.now();
    await waitFor('more shares at B', () => acceptedAt(b, settled).length >= 3, 30_000);
    expect(a.shares.filter((s) => s.receivedAt >= settled && s.worker === worker)).toEqual([]);
    expect(await miner.metric('minefleet_miner_pool_switches_total', { from: 'a', to: 'b', cause: 'config' })).toBe(1);
    expect(await miner.metric('minefleet_miner_active_pool', { pool: 'b' })).toBe(1);
    expect(await miner.metric('minefleet_miner_active_pool', { pool: 'a' })).toBe(0);
    // A broken config edit is rejected with a clear error and mining goes on.
    const tBad = Date.now();
    miner.writeFile('miner.yaml', 'pools: []\nactivePool: b\n');
    await waitFor(
      'reload error logged',
      () => miner.logs.find((l) => /config reload rejected, keeping the running config: [\s\S]*pools/.test(String(l.msg))),
      10_000,
    );
    await waitFor('shares continue at B', () => acceptedAt(b, tBad).length >= 2, 30_000);
    expect(miner.alive()).toBe(true);
    await miner.stop();
  });

  it('runtime file channel: runtime.json switches pools; older revisions are ignored', async () => {
    const cfg = podConfig('rtswitch', [poolEntry('a', a.url), poolEntry('b', b.url)], 'a');
    // The runtime channel is configured by a config reload, pointing at a file next to the config.
    const miner = await startMiner(cfg);
    miners.push(miner);
    onTestFailed(() =>
      console.log(
        `alive=${miner.alive()} stderr=${miner.stderr()}\n` +
          miner.logs
            .filter((l) => l.msg !== 'share accepted' && !String(l.msg).startsWith('block candidate'))
            .map((l) => JSON.stringify(l))
            .join('\n'),
      ),
    );
    const rtPath = miner.writeFile('runtime.json', JSON.stringify({ activePool: 'a', revision: 1 }));
    miner.writeConfig({ ...cfg, runtime: { file: { path: rtPath } } });
    await waitFor('mining at A', () => acceptedAt(a, Date.now() - 2000).length >= 2, 60_000);
    const t0 = Date.now();
    miner.writeFile('runtime.json', JSON.stringify({ activePool: 'b', revision: 2 }));
    await waitFor('shares at B', () => acceptedAt(b, t0).length >= 1, 60_000, 20);
    console.log(`runtime file switch: first share at the new pool ${acceptedAt(b, t0)[0]!.receivedAt - t0} ms after the write`);
    expect(acceptedAt(b, t0)[0]!.receivedAt - t0).toBeLessThan(1000);
    expect(await miner.metric('minefleet_miner_pool_switches_total', { from: 'a', to: 'b', cause: 'runtime' })).toBe(1);
    // A stale revision does not move us back.
    miner.writeFile('runtime.json', JSON.stringify({ activePool: 'a', revision: 1 }));
    await waitFor('stale revision ignored', () => miner.logs.find((l) => l.msg === 'ignoring older runtime state'), 10_000);
    // Garbage in the runtime file is reported, not fatal.
    miner.writeFile('runtime.json', '{"activePool": 5}');
    await waitFor('runtime error logged', () => miner.logs.find((l) => /runtime state invalid: activePool/.test(String(l.msg))), 10_000);
    const t1 = Date.now();
    await waitFor('still mining at B', () => acceptedAt(b, t1).length >= 2, 30_000);
    expect(miner.alive()).toBe(true);
    await miner.stop();
  });

  it('falls to the next pool when the active one stays dead for fallbackAfterSeconds', async () => {
    const dying = await startStratumPool({ difficulty: DIFF });
    const cfg = podConfig('fallback', [poolEntry('dying', dying.url), poolEntry('b', b.url)], 'dying');
    cfg.failover = { fallbackAfterSeconds: 1, idleTimeoutSeconds: 30, backoff: { initialMs: 200, maxMs: 1000 } };
    const miner = await startMiner(cfg);
    miners.push(miner);
    await waitFor('shares at the first pool', () => acceptedAt(dying, 0).length >= 2, 60_000);
    const t0 = Date.now();
    await dying.stop();
    await waitFor('shares at the next pool', () => acceptedAt(b, t0).length >= 2, 30_000);
    expect(await miner.metric('minefleet_miner_pool_fallbacks_total', { from: 'dying', to: 'b' })).toBe(1);
    expect(await miner.metric('minefleet_miner_active_pool', { pool: 'b' })).toBe(1);
    expect(miner.logs.some((l) => /falling back to the next pool/.test(String(l.msg)))).toBe(true);
    await miner.stop();
  });
});
