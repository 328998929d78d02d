// The test pool against a real litecoind -regtest: jobs from getblocktemplate, blocks judged by
// litecoind's own consensus code through submitblock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStratumPool, StratumError, type StratumPool } from '../support/stratum/index.js';
import { startLitecoind, type Litecoind } from '../support/index.js';
import { readyClient, until } from './helpers.js';
import type { StratumTestClient } from './stratum-test-client.js';

interface VerboseBlock {
  hash: string;
  height: number;
  tx: Array<{ txid: string; vin: Array<{ coinbase?: string }>; vout: Array<{ value: number; scriptPubKey: { hex: string } }> }>;
  mweb?: unknown;
}

const REGTEST_BLOCK_TARGET = 0x7fffffn << 232n;

describe('stratum test pool on litecoind -regtest', () => {
  let ltc: Litecoind;
  let pool: StratumPool;
  let heightAtPoolStart = -1;
  const clients: StratumTestClient[] = [];

  beforeAll(async () => {
    ltc = await startLitecoind();
    // A fresh chain: litecoind gives no templates during "initial block download".
    heightAtPoolStart = await ltc.rpc<number>('getblockcount');
    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.001 });
    // Mature coinbases so the wallet can make transactions for the templates.
    await ltc.mine(101);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await pool?.stop();
    await ltc?.stop();
  });
  afterEach(() => {
    expect(pool.errors).toEqual([]);
  });

  const client = async (worker: string): Promise<StratumTestClient> => {
    const c = await readyClient(pool, worker);
    clients.push(c);
    return c;
  };
  const tipJob = async (c: StratumTestClient): Promise<ReturnType<StratumTestClient['latestJob']> & object> => {
    const best = await ltc.rpc<string>('getbestblockhash');
    return c.waitFor('a job on the current tip', () => {
      const j = c.latestJob();
      return j && pool.currentJob()?.prevHashDisplay === best && j.jobId === pool.currentJob()?.id ? j : undefined;
    });
  };

  it('starts on a fresh chain (mining the one block that ends initial block download)', async () => {
    expect(heightAtPoolStart).toBe(0);
    const first = await ltc.rpc<VerboseBlock>('getblock', [await ltc.rpc<string>('getblockhash', [1]), 2]);
    const info = await ltc.rpc<{ scriptPubKey: string }>('getaddressinfo', [pool.payoutAddress]);
    expect(first.tx[0]!.vout[0]!.scriptPubKey.hex).toBe(info.scriptPubKey);
  });

  it('turns a share that meets the block target into a block litecoind accepts, paying payoutAddress', async () => {
    const c = await client('miner.blocks');
    const heightBefore = await ltc.rpc<number>('getblockcount');
    const job = await tipJob(c);
    const share = c.findShare(job);
    expect(share.pow <= REGTEST_BLOCK_TARGET).toBe(true);
    expect((await c.submit('miner.blocks', share)).result).toBe(true);

    expect(pool.blocks.at(-1)).toEqual({ hash: share.blockHash, height: heightBefore + 1, accepted: true });
    expect(pool.shares.at(-1)).toMatchObject({ result: 'accepted', isBlock: true });
    expect(await ltc.rpc<number>('getblockcount')).toBe(heightBefore + 1);
    expect(await ltc.rpc<string>('getbestblockhash')).toBe(share.blockHash);

    const block = await ltc.rpc<VerboseBlock>('getblock', [share.blockHash, 2]);
    const info = await ltc.rpc<{ scriptPubKey: string }>('getaddressinfo', [pool.payoutAddress]);
    expect(block.tx[0]!.vout[0]!.scriptPubKey.hex).toBe(info.scriptPubKey);
    expect(block.tx[0]!.vout[0]!.value).toBeGreaterThan(0);
    // BIP34: the coinbase scriptSig starts with the height.
    const heightBytes: number[] = [];
    for (let v = heightBefore + 1; v > 0; v >>= 8) heightBytes.push(v & 0xff);
    if (heightBytes.at(-1)! & 0x80) heightBytes.push(0);
    expect(block.tx[0]!.vin[0]!.coinbase!.startsWith(Buffer.from([heightBytes.length, ...heightBytes]).toString('hex'))).toBe(true);

    // The new tip arrives as a clean job whose prevhash is the new block in Stratum's word order.
    const words = share.blockHash.match(/.{8}/g)!.reverse().join('');
    const next = await c.waitFor('clean job on the new tip', () => c.jobs().find((j) => j.prevhash === words));
    expect(next.clean).toBe(true);
    // Shares for the old job are now stale.
    const late = c.findShare(job, { startNonce: Number.parseInt(share.nonce, 16) + 1 });
    expect((await c.submit('miner.blocks', late)).error?.[0]).toBe(StratumError.JOB_NOT_FOUND);
  });

  it('includes mempool transactions (with witnesses) and litecoind accepts the block', async () => {
    const c = await client('miner.txs');
    const txid = await ltc.rpc<string>('sendtoaddress', [await ltc.newAddress(), 1.5]);
    // litecoind rebuilds a template for new mempool contents only after 5 s; ask until it has.
    await until(
      'a template with the transaction',
      async () => {
        await pool.sendNewJob({ clean: false });
        return pool.currentJob()!.txids.some((t) => Buffer.from(t).reverse().toString('hex') === txid);
      },
      60_000,
    );
    const job = await c.waitFor('a job carrying the transaction', () => {
      const j = c.latestJob();
      return j && j.branch.length > 0 && j.jobId === pool.currentJob()?.id ? j : undefined;
    });
    expect(job.coinb2).toContain('6a24aa21a9ed'); // witness commitment output
    const share = c.findShare(job);
    expect((await c.submit('miner.txs', share)).result).toBe(true);
    expect(pool.blocks.at(-1)).toMatchObject({ hash: share.blockHash, accepted: true });
    const block = await ltc.rpc<VerboseBlock>('getblock', [share.blockHash, 2]);
    expect(block.tx.map((t) => t.txid)).toContain(txid);
    expect(await ltc.rpc<string>('getbestblockhash')).toBe(share.blockHash);
  });

  it('accepts a share that is not a block without submitting it', async () => {
    const c = await client('miner.shares');
    pool.setDifficulty(0.00001); // share target above the regtest block target
    try {
      await c.waitFor('difficulty', () => c.difficulty === 0.00001);
      const heightBefore = await ltc.rpc<number>('getblockcount');
      const blocksBefore = pool.blocks.length;
      const share = c.findShare(await tipJob(c), { target: REGTEST_BLOCK_TARGET, below: false });
      expect((await c.submit('miner.shares', share)).result).toBe(true);
      expect(pool.shares.at(-1)).toMatchObject({ result: 'accepted', isBlock: false });
      expect(pool.blocks.length).toBe(blocksBefore);
      expect(await ltc.rpc<number>('getblockcount')).toBe(heightBefore);
    } finally {
      pool.setDifficulty(0.001);
    }
  });

  it('follows blocks found elsewhere with a clean job', async () => {
    const c = await client('miner.follow');
    const old = await tipJob(c);
    const [hash] = await ltc.mine(1);
    const next = await c.waitFor('clean job after an external block', () =>
      c.jobs().find((j) => j.clean && j.prevhash === hash!.match(/.{8}/g)!.reverse().join('')),
    );
    expect(next.jobId).not.toBe(old.jobId);
    expect((await c.submit('miner.follow', c.findShare(old))).error?.[0]).toBe(StratumError.JOB_NOT_FOUND);
    expect((await c.submit('miner.follow', c.findShare(next))).result).toBe(true);
  });

  it('keeps up with a burst of blocks, each on the one before', async () => {
    const c = await client('miner.burst');
    const start = await ltc.rpc<number>('getblockcount');
    const hashes: string[] = [];
    for (let i = 0; i < 15; i++) {
      const job = await tipJob(c);
      const share = c.findShare(job);
      expect((await c.submit('miner.burst', share)).result).toBe(true);
      hashes.push(share.blockHash);
    }
    expect(await ltc.rpc<number>('getblockcount')).toBe(start + 15);
    expect(await ltc.rpc<string>('getbestblockhash')).toBe(hashes.at(-1));
    for (const h of hashes) expect(pool.blocks.find((b) => b.hash === h)?.accepted).toBe(true);
  });

  it('two miners racing on the same tip: one block wins, the other is reported, nothing breaks', async () => {
    const [a, b] = [await client('race.a'), await client('race.b')];
    const start = await ltc.rpc<number>('getblockcount');
    const blocksBefore = pool.blocks.length;
    const jobA = await tipJob(a);
    const jobB = await tipJob(b);
    const [ra, rb] = await Promise.all([a.submit('race.a', a.findShare(jobA)), b.submit('race.b', b.findShare(jobB))]);
    const answers = [ra, rb];
    // Each answer is an accepted share, or (if the other block already moved the chain on) stale.
    for (const r of answers) expect(r.result === true || r.error?.[0] === StratumError.JOB_NOT_FOUND).toBe(true);
    const submitted = pool.blocks.slice(blocksBefore);
    expect(submitted.filter((x) => x.accepted)).toHaveLength(1);
    for (const x of submitted.filter((y) => !y.accepted)) expect(['inconclusive', 'duplicate']).toContain(x.reason);
    expect(await ltc.rpc<number>('getblockcount')).toBe(start + 1);
    // Both carry on on the new tip.
    for (const [c, w] of [
      [a, 'race.a'],
      [b, 'race.b'],
    ] as const) {
      expect((await c.submit(w, c.findShare(await tipJob(c)))).result).toBe(true);
    }
  });

  it("records litecoind's verdict when it rejects a block (here: its parent was invalidated)", async () => {
    // A second pool that does not poll the tip, so it still offers work on the invalidated block.
    const lazy = await startStratumPool({ litecoind: ltc, difficulty: 0.001, pollIntervalMs: 3_600_000 });
    const c = await readyClient(lazy, 'miner.lazy');
    clients.push(c);
    const tip = lazy.currentJob()!.prevHashDisplay;
    const job = c.latestJob()!;
    await ltc.rpc('invalidateblock', [tip]);
    try {
      const share = c.findShare(job);
      expect((await c.submit('miner.lazy', share)).result).toBe(true);
      expect(lazy.blocks).toHaveLength(1);
      expect(lazy.blocks[0]).toMatchObject({ hash: share.blockHash, accepted: false });
      expect(lazy.blocks[0]!.reason).toMatch(/prev|invalid/i);
      expect(lazy.shares.at(-1)).toMatchObject({ result: 'accepted', isBlock: true });
      expect(await ltc.rpc<string>('getbestblockhash')).not.toBe(share.blockHash);
    } finally {
      await ltc.rpc('reconsiderblock', [tip]);
      await lazy.stop();
    }
    expect(await ltc.rpc<string>('getbestblockhash')).toBe(tip);
  });

  it('mines across MWEB activation (regtest height 432): peg-in, HogEx and extension block accepted', async () => {
    const c = await client('miner.mweb');
    const height = await ltc.rpc<number>('getblockcount');
    if (height < 431) await ltc.mine(431 - height);
    for (let i = 0; i < 2; i++) {
      const job = await tipJob(c);
      const share = c.findShare(job);
      expect((await c.submit('miner.mweb', share)).result).toBe(true);
      expect(pool.blocks.at(-1)).toMatchObject({ hash: share.blockHash, height: 432 + i, accepted: true });
      await until('tip moved', async () => (await ltc.rpc<string>('getbestblockhash')) === share.blockHash);
    }
    const tip = await ltc.rpc<VerboseBlock>('getblock', [await ltc.rpc<string>('getbestblockhash'), 2]);
    expect(tip.height).toBe(433);
    expect(tip.mweb).toBeTruthy();
    expect(pool.currentJob()?.mweb).toBeDefined();
  });
});
