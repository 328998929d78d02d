/**
 * End to end on a real chain: the miner process mines through the test pool on litecoind -regtest
 * and litecoind's own consensus code accepts its blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLitecoind, type Litecoind } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { baseConfig, poolEntry, startMiner, waitFor, type MinerProcess } from './helpers.js';

interface VerboseBlock {
  hash: string;
  height: number;
  confirmations: number;
  tx: Array<{ vout: Array<{ value: number; scriptPubKey: { hex: string } }> }>;
}

describe('mining on litecoind -regtest', () => {
  let ltc: Litecoind;
  let pool: StratumPool;
  let miner: MinerProcess;
  beforeAll(async () => {
    ltc = await startLitecoind();
    // Regtest's block target is easier than this share target, so every share is a block:
    // ~1 per second at one thread keeps the chain well below the MWEB height.
    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.05 });
  });
  afterAll(async () => {
    await miner?.stop();
    await pool?.stop();
    await ltc?.stop();
  });

  it('finds blocks that litecoind accepts; the coinbase pays the pool address', async () => {
    const startHeight = await ltc.rpc<number>('getblockcount');
    miner = await startMiner(baseConfig([poolEntry('regtest', pool.url)], 'regtest'));
    await waitFor('3 blocks accepted by litecoind', () => pool.blocks.filter((b) => b.accepted).length >= 3, 120_000, 200);
    // The info metric names the SIMD path the native addon picked for this CPU (e.g. native-avx2x8+sha-ni).
    const info = (await miner.metrics()).split('\n').find((l) => l.startsWith('minefleet_miner_info{'));
    expect(info, 'minefleet_miner_info is exported').toBeDefined();
    expect(info).toMatch(/kernel="native-(avx512|avx2|sse2|scalar)x\d+\+sha-(ni|c)"/);
    expect(info!.trim().endsWith(' 1')).toBe(true);
    await miner.stop();
    const accepted = pool.blocks.filter((b) => b.accepted);
    const height = await ltc.rpc<number>('getblockcount');
    expect(height - startHeight).toBeGreaterThanOrEqual(3);
    for (const b of accepted.slice(0, 3)) {
      const block = await ltc.rpc<VerboseBlock>('getblock', [b.hash, 2]);
      expect(block.height).toBe(b.height);
      expect(block.confirmations).toBeGreaterThanOrEqual(1); // on the active chain
      expect(block.tx[0]!.vout[0]!.scriptPubKey.hex).toBe(pool.payoutScriptHex);
      expect(block.tx[0]!.vout[0]!.value).toBeGreaterThan(0);
    }
    // The miner counted block candidates and the pool credited its shares.
    const candidates = miner.logs.filter((l) => l.msg === 'block candidate found; submitting').length;
    expect(candidates).toBeGreaterThanOrEqual(3);
    expect(pool.shares.filter((s) => s.result === 'accepted' && s.isBlock).length).toBeGreaterThanOrEqual(3);
    expect(pool.errors).toEqual([]);
    // The default kernel is the native addon.
    expect(miner.logs.find((l) => l.msg === 'cpu backend started')?.kernel).toBe('native');
  });

  it('with the native addon disabled the miner falls back to wasm-simd and litecoind still accepts its blocks', async () => {
    const before = pool.blocks.filter((b) => b.accepted).length;
    const fallback = await startMiner(baseConfig([poolEntry('regtest', pool.url)], 'regtest'), { MINEFLEET_NATIVE: 'off' });
    try {
      await waitFor('2 more blocks accepted by litecoind', () => pool.blocks.filter((b) => b.accepted).length >= before + 2, 180_000, 200);
      const kernel = fallback.logs.find((l) => l.msg === 'cpu backend started')?.kernel;
      expect(kernel).toBe('wasm-simd');
      expect(await fallback.metric('minefleet_miner_info', { kernel: 'wasm-simd128x4' })).toBe(1);
    } finally {
      await fallback.stop();
    }
    expect(pool.errors).toEqual([]);
  });

  it('MINEFLEET_KERNEL forces a kernel in a running miner (native-sse2 here), and litecoind accepts its blocks', async () => {
    const before = pool.blocks.filter((b) => b.accepted).length;
    const forced = await startMiner(baseConfig([poolEntry('regtest', pool.url)], 'regtest'), { MINEFLEET_KERNEL: 'native-sse2' });
    try {
      await waitFor('1 more block accepted by litecoind', () => pool.blocks.filter((b) => b.accepted).length >= before + 1, 180_000, 200);
      expect(forced.logs.find((l) => l.msg === 'cpu backend started')?.kernel).toBe('native-sse2');
      const info = (await forced.metrics()).split('\n').find((l) => l.startsWith('minefleet_miner_info{'));
      expect(info).toMatch(/kernel="native-sse2x4\+sha-(ni|c)"/);
    } finally {
      await forced.stop();
    }
    expect(pool.errors).toEqual([]);
  });
});
