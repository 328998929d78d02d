/**
 * The built miner (a real process) against the test Stratum pool (synthetic jobs, shares checked
 * by the pool with its own scrypt): the protocol cases of issue 4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, POOL_PASSWORD, poolEntry, startMiner, waitFor, type MinerProcess } from './helpers.js';

const DIFF = 0.004; // ~10 shares/s at one thread

describe('miner against a Stratum pool', () => {
  let pool: StratumPool;
  let miner: MinerProcess;
  beforeAll(async () => {
    pool = await startStratumPool({ difficulty: DIFF });
    miner = await startMiner(baseConfig([poolEntry('main', pool.url)], 'main'));
  });
  afterAll(async () => {
    await miner?.stop();
    await pool?.stop();
  });

  const accepted = (pred: (s: StratumPool['shares'][number]) => boolean = () => true) => pool.shares.filter((s) => s.result === 'accepted' && pred(s));

  it('subscribes, authorizes as user.worker, gets shares accepted; probes and metrics follow', async () => {
    await waitFor('3 accepted shares', () => accepted().length >= 3, 60_000);
    expect(pool.logins[0]).toEqual({ worker: 'tester.testfleet.miner-0', password: POOL_PASSWORD });
    expect(pool.shares.filter((s) => s.result === 'rejected')).toEqual([]);
    const port = miner.metricsPort();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
    await waitFor('accepted shares metric', async () => (await miner.metric('minefleet_miner_shares_total', { pool: 'main', result: 'accepted' })) >= 3);
    await waitFor('hashrate gauge', async () => (await miner.metric('minefleet_miner_hashrate_hashes_per_second', { window: '10s' })) > 0);
    expect(await miner.metric('minefleet_miner_hashes_total')).toBeGreaterThan(0);
    expect(await miner.metric('minefleet_miner_thread_hashrate_hashes_per_second', { thread: '0' })).toBeGreaterThan(0);
    expect(await miner.metric('minefleet_miner_active_pool', { pool: 'main' })).toBe(1);
    expect(await miner.metric('minefleet_miner_pool_connection_state', { pool: 'main', state: 'authorized' })).toBe(1);
    expect(await miner.metric('minefleet_miner_difficulty', { pool: 'main' })).toBe(DIFF);
    const text = await miner.metrics();
    expect(text).toMatch(/minefleet_miner_job_age_seconds \d/);
    expect(text).toMatch(/minefleet_miner_blocks_found_total/);
    // The password never reaches the logs.
    expect(miner.rawStdout() + miner.stderr()).not.toContain(POOL_PASSWORD);
  });

  it('difficulty change mid-job: new shares meet the new difficulty, none rejected', async () => {
    const before = pool.shares.length;
    pool.setDifficulty(DIFF * 2);
    await waitFor('shares credited at the new difficulty', () => accepted((s) => s.difficulty === DIFF * 2).length >= 3, 60_000);
    expect(pool.shares.slice(before).filter((s) => s.result === 'rejected')).toEqual([]);
    await waitFor('difficulty metric', async () => (await miner.metric('minefleet_miner_difficulty', { pool: 'main' })) === DIFF * 2);
    pool.setDifficulty(DIFF);
  });

  it('clean_jobs: the miner moves to the new job at once', async () => {
    await pool.sendNewJob({ clean: true });
    const jobId = pool.currentJob()!.id;
    await waitFor('accepted shares for the new job', () => accepted((s) => s.jobId === jobId).length >= 2, 60_000);
    const t = Date.now();
    await waitFor('a few more shares', () => pool.shares.filter((s) => s.receivedAt > t).length >= 3, 60_000);
    // After the switch only the new job is mined.
    expect(pool.shares.filter((s) => s.receivedAt > t && s.jobId !== jobId)).toEqual([]);
  });

  it('set_extranonce: shares use the new extranonce2 size and are accepted', async () => {
    pool.setExtranonce('a1b2c3d4', 3);
    await waitFor('accepted shares with 3-byte extranonce2', () => accepted((s) => s.extranonce2.length === 6).length >= 3, 60_000);
  });

  it('client.show_message is logged', async () => {
    pool.showMessage('maintenance at noon');
    await waitFor('pool message in log', () => miner.logs.find((l) => l.poolMessage === 'maintenance at noon'));
  });

  it('client.reconnect: reconnects, resumes the session and keeps mining; same process', async () => {
    const logins = pool.logins.length;
    pool.sendReconnect({ waitSeconds: 0 });
    await waitFor('re-login', () => pool.logins.length > logins, 30_000);
    const t = Date.now();
    await waitFor('accepted shares after reconnect', () => accepted((s) => s.receivedAt > t).length >= 2, 60_000);
    expect(await miner.metric('minefleet_miner_reconnects_total', { pool: 'main', reason: 'client.reconnect' })).toBeGreaterThanOrEqual(1);
    // The pool offers session resume: the miner asked for it and kept its session and the
    // extranonce1 in force (the one set by mining.set_extranonce above).
    const subs = miner.logs.filter((l) => l.msg === 'subscribed');
    expect(subs.at(-1), JSON.stringify(subs)).toMatchObject({ resumed: true, sessionId: subs[0]!.sessionId, extranonce1: 'a1b2c3d4' });
    expect(miner.alive()).toBe(true);
  });

  it('SIGTERM stops gracefully with exit 0', async () => {
    const code = await miner.stop();
    expect(code).toBe(0);
    expect(miner.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });
});

describe('misbehaving pools', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a pool that closes right after authorize: the miner keeps re-establishing with back-off', async () => {
    const pool = await startStratumPool({ difficulty: DIFF, behavior: { closeAfterAuthorize: true } });
    cleanups.push(() => pool.stop());
    const miner = await startMiner(baseConfig([poolEntry('p', pool.url)], 'p'));
    cleanups.push(() => miner.stop());
    await waitFor('3 logins', () => pool.logins.length >= 3, 60_000);
    expect(await miner.metric('minefleet_miner_reconnects_total', { pool: 'p' })).toBeGreaterThanOrEqual(2);
    expect((await fetch(`http://127.0.0.1:${miner.metricsPort()}/readyz`)).status).toBe(503);
    expect(miner.alive()).toBe(true);
  });

  it('a pool that never sends a job: idle detection reconnects', async () => {
    const pool = await startStratumPool({ difficulty: DIFF, behavior: { neverSendJob: true } });
    cleanups.push(() => pool.stop());
    const cfg = baseConfig([poolEntry('p', pool.url)], 'p');
    cfg.failover = { fallbackAfterSeconds: 60, idleTimeoutSeconds: 1, backoff: { initialMs: 100, maxMs: 500 } };
    const miner = await startMiner(cfg);
    cleanups.push(() => miner.stop());
    await waitFor('idle reconnects', () => pool.logins.length >= 3, 60_000);
    expect(miner.logs.some((l) => /no work from pool within idle timeout/.test(l.msg))).toBe(true);
    expect(await miner.metric('minefleet_miner_reconnects_total', { pool: 'p', reason: 'idle' })).toBeGreaterThanOrEqual(1);
    const ready = await fetch(`http://127.0.0.1:${miner.metricsPort()}/readyz`);
    expect(ready.status).toBe(503);
  });

  it('a pool that rejects everything: rejections counted with code and reason', async () => {
    const pool = await startStratumPool({ difficulty: DIFF, behavior: { rejectAll: { code: 23, message: 'Low difficulty share' } } });
    cleanups.push(() => pool.stop());
    const miner = await startMiner(baseConfig([poolEntry('p', pool.url)], 'p'));
    cleanups.push(() => miner.stop());
    await waitFor(
      'rejected shares metric',
      async () => (await miner.metric('minefleet_miner_shares_total', { pool: 'p', result: 'rejected', reason: 'low difficulty share' })) >= 3,
      60_000,
    );
    expect(miner.logs.some((l) => l.msg === 'share rejected' && l.code === 23 && l.reason === 'Low difficulty share')).toBe(true);
    expect(await miner.metric('minefleet_miner_shares_total', { pool: 'p', result: 'accepted' })).toBe(0);
  });

  it('stratum+ssl with the pool CA and server name', async () => {
    const pool = await startStratumPool({ difficulty: DIFF, tls: true });
    cleanups.push(() => pool.stop());
    expect(pool.url.startsWith('stratum+ssl://')).toBe(true);
    const miner = await startMiner(baseConfig([poolEntry('tls', pool.url, { tls: { caFile: pool.caFile, serverName: pool.serverName } })], 'tls'));
    cleanups.push(() => miner.stop());
    await waitFor('accepted shares over TLS', () => pool.shares.filter((s) => s.result === 'accepted').length >= 3, 60_000);
  });

  it('stratum+ssl with the wrong server name never authorizes', async () => {
    const pool = await startStratumPool({ difficulty: DIFF, tls: true });
    cleanups.push(() => pool.stop());
    const miner = await startMiner(baseConfig([poolEntry('tls', pool.url, { tls: { caFile: pool.caFile, serverName: 'wrong.example' } })], 'tls'));
    cleanups.push(() => miner.stop());
    await waitFor(
      'TLS error logged',
      // 'TLS handshake refused: hostname mismatch' once the TCP connect is seen before the handshake fails, else 'connection error'
      () =>
        miner.logs.find(
          (l) =>
            (l.msg === 'connection error' || String(l.msg).startsWith('TLS handshake refused')) &&
            /wrong\.example|altnames|certificate/i.test(JSON.stringify(l.err)),
        ),
      30_000,
    );
    expect(pool.logins.length).toBe(0);
  });
});
