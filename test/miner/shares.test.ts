import { afterAll, describe, expect, it } from 'vitest';
import { ShareRing, SharesPageSchema, parseSharesQuery, type ShareRecord } from '../../miner/src/metrics/share-ring.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, startMiner, waitFor, type MinerProcess } from './helpers.js';

const rec = (i: number): Omit<ShareRecord, 'seq'> => ({
  time: new Date(1_700_000_000_000 + i).toISOString(),
  pool: 'p',
  worker: 'w',
  jobId: `j${i}`,
  extranonce2: '00000000',
  ntime: '6553f0a0',
  nonce: i.toString(16).padStart(8, '0'),
  difficulty: 0.01,
  result: i % 5 === 0 ? 'rejected' : 'accepted',
  ...(i % 5 === 0 ? { reason: 'low difficulty share' } : {}),
});

describe('ShareRing', () => {
  it('numbers records from 1, pages after a cursor, and drops the oldest past capacity', () => {
    const ring = new ShareRing(4);
    expect(ring.after(0)).toMatchObject({ lastSeq: 0, oldestSeq: 1, shares: [], more: false });
    for (let i = 1; i <= 3; i++) ring.push(rec(i));
    expect(ring.after(0).shares.map((s) => s.seq)).toEqual([1, 2, 3]);
    expect(ring.after(2).shares.map((s) => s.seq)).toEqual([3]);
    expect(ring.after(3).shares).toEqual([]);
    for (let i = 4; i <= 10; i++) ring.push(rec(i));
    const page = ring.after(0);
    // 1..6 fell out: a reader at cursor 0 can tell from oldestSeq that it missed 6.
    expect(page).toMatchObject({ lastSeq: 10, oldestSeq: 7, more: false });
    expect(page.shares.map((s) => s.seq)).toEqual([7, 8, 9, 10]);
    expect(page.shares[0]!.nonce).toBe('00000007');
    const limited = ring.after(6, 2);
    expect(limited.shares.map((s) => s.seq)).toEqual([7, 8]);
    expect(limited.more).toBe(true);
    expect(SharesPageSchema.parse(page)).toEqual(page);
    expect(new ShareRing(4).bootId).not.toBe(ring.bootId);
  });

  it('rejects bad capacities and bad queries with the parameter named', () => {
    expect(() => new ShareRing(0)).toThrow(/capacity/);
    expect(parseSharesQuery(new URLSearchParams('after=12&limit=5'))).toEqual({ after: 12, limit: 5 });
    expect(parseSharesQuery(new URLSearchParams(''))).toEqual({ after: 0, limit: 1000 });
    expect(() => parseSharesQuery(new URLSearchParams('after=-1'))).toThrow(/'after' must be a non-negative integer/);
    expect(() => parseSharesQuery(new URLSearchParams('after=abc'))).toThrow(/'after'/);
    expect(() => parseSharesQuery(new URLSearchParams('limit=5000'))).toThrow(/'limit' must be at most 1000/);
    expect(() => parseSharesQuery(new URLSearchParams('limit=0'))).toThrow(/'limit' must be at least 1/);
    expect(() => parseSharesQuery(new URLSearchParams('since=3'))).toThrow(/unknown query parameter 'since'/);
  });
});

describe('GET /shares on a real miner', () => {
  let pool: StratumPool;
  let miner: MinerProcess;
  afterAll(async () => {
    await miner?.stop();
    await pool?.stop();
  });

  it("serves every share the pool judged, with the pool's verdict, exactly once across pages", async () => {
    // A few shares a second with the native kernel: enough for several pages of 5, while the
    // paging below stays inside the server's per-client rate limit (burst 40).
    pool = await startStratumPool({ difficulty: 0.05 });
    miner = await startMiner(baseConfig([poolEntry('p1', pool.url)], 'p1'));
    await waitFor('12 shares at the pool', () => pool.shares.length >= 12, 120_000, 200);
    const base = `http://127.0.0.1:${miner.metricsPort()}/shares`;
    // Page through with a small limit, as the collector does with its cursor.
    let cursor = 0;
    const seen: ShareRecord[] = [];
    let bootId = '';
    for (;;) {
      const page = SharesPageSchema.parse(await (await fetch(`${base}?after=${cursor}&limit=5`)).json());
      bootId ||= page.bootId;
      expect(page.bootId).toBe(bootId);
      seen.push(...page.shares);
      if (page.shares.length > 0) cursor = page.shares.at(-1)!.seq;
      if (!page.more) break;
    }
    expect(seen.length).toBeGreaterThanOrEqual(12);
    expect(seen.map((s) => s.seq)).toEqual(seen.map((_, i) => i + 1));
    const poolKey = (s: { jobId: string; extranonce2: string; ntime: string; nonce: string }) => `${s.jobId}/${s.extranonce2}/${s.ntime}/${s.nonce}`;
    const judged = new Map(pool.shares.map((s) => [poolKey(s), s]));
    for (const s of seen.filter((x) => x.result !== 'stale')) {
      const p = judged.get(poolKey(s));
      expect(p, `pool has share ${poolKey(s)}`).toBeDefined();
      expect(s.result).toBe(p!.result);
      expect(s.worker).toBe(p!.worker);
    }
    const bad = await fetch(`${base}?after=x`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("'after' must be a non-negative integer");
  }, 300_000);
});
