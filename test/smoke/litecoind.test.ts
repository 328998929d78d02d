import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLitecoind, type Litecoind } from '../support/index.js';

interface BlockTemplate {
  height: number;
  coinbasevalue: number;
  bits: string;
  previousblockhash: string;
  rules: string[];
}

describe('litecoind -regtest (two connected nodes)', () => {
  let ltc: Litecoind;

  beforeAll(async () => {
    ltc = await startLitecoind();
    console.log(`litecoind (2 nodes) started in ${ltc.startupMs} ms at ${ltc.rpcUrl}`);
  });

  afterAll(async () => {
    await ltc?.stop();
  });

  it('mines 101 blocks to a bech32 address and answers getblocktemplate with segwit and mweb rules', async () => {
    const address = await ltc.newAddress();
    expect(address).toMatch(/^rltc1/);
    const hashes = await ltc.mine(101, address);
    expect(hashes).toHaveLength(101);
    expect(await ltc.rpc<number>('getblockcount')).toBe(101);
    expect(await ltc.rpc<string>('getbestblockhash')).toBe(hashes[100]);

    const template = await ltc.rpc<BlockTemplate>('getblocktemplate', [{ rules: ['segwit', 'mweb'] }]);
    expect(template.height).toBe(102);
    expect(template.previousblockhash).toBe(hashes[100]);
    // Regtest subsidy: 50 LTC (halving every 150 blocks) plus no fees.
    expect(template.coinbasevalue).toBe(50 * 1e8);
    expect(template.bits).toBe('207fffff');
    // Segwit is active from genesis on regtest ('!' = the client must understand it); MWEB is a
    // BIP9 deployment that is not active yet at height 102, but the client announced support.
    expect(template.rules).toContain('!segwit');
    const chain = await ltc.rpc<{ softforks: Record<string, { active: boolean }> }>('getblockchaininfo');
    expect(chain.softforks.mweb).toMatchObject({ active: false });
    expect(chain.softforks.segwit).toMatchObject({ active: true });
  });

  it('reports a JSON-RPC error with its code', async () => {
    await expect(ltc.rpc('getblockhash', [10_000])).rejects.toThrow(/getblockhash: Block height out of range \(code -8\)/);
  });
});
