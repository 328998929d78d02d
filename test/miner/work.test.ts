import { describe, expect, it } from 'vitest';
import { buildHeader, nonceHex, swapWords } from '../../miner/src/work/header.js';
import { Job } from '../../miner/src/work/job.js';
import { merkleRootFromBranch, sha256d } from '../../miner/src/work/merkle.js';
import { SCRYPT_DIFF1_TARGET, targetFromBits, targetFromDifficulty } from '../../miner/src/work/target.js';
import { extranonce2Hex } from '../../miner/src/work/coinbase.js';
import { VECTORS } from './vectors.js';

describe('targets', () => {
  it('scrypt diff-1 is 65536 x Bitcoin diff-1', () => {
    const bitcoinDiff1 = 0xffffn << 208n;
    expect(targetFromDifficulty(1)).toBe(bitcoinDiff1 * 65536n);
    expect(SCRYPT_DIFF1_TARGET.toString(16)).toBe('ffff' + '0'.repeat(56));
  });
  it('difficulty scales the target inversely, fractional difficulties work', () => {
    expect(targetFromDifficulty(2)).toBe(SCRYPT_DIFF1_TARGET / 2n);
    expect(targetFromDifficulty(0.5)).toBe(SCRYPT_DIFF1_TARGET * 2n);
    expect(targetFromDifficulty(1e-9) <= (1n << 256n) - 1n).toBe(true);
    expect(() => targetFromDifficulty(0)).toThrow(/positive/);
  });
  it('nBits decoding', () => {
    expect(targetFromBits('1e0ffff0').toString(16)).toBe('ffff0' + '0'.repeat(54));
    expect(targetFromBits('207fffff').toString(16)).toBe('7fffff' + '0'.repeat(58)); // regtest
    expect(targetFromBits('1b0404cb')).toBe(0x0404cbn << (8n * 24n));
    expect(() => targetFromBits('xyz')).toThrow(/8 hex/);
  });
});

/** Turn a raw header into the fields a Stratum pool would send for it. */
function stratumFields(headerHex: string) {
  const h = Buffer.from(headerHex, 'hex');
  return {
    versionHex: Buffer.from(h.subarray(0, 4)).reverse().toString('hex'),
    prevhashHex: swapWords(h.subarray(4, 36)).toString('hex'),
    merkleRoot: h.subarray(36, 68),
    ntimeHex: Buffer.from(h.subarray(68, 72)).reverse().toString('hex'),
    nbitsHex: Buffer.from(h.subarray(72, 76)).reverse().toString('hex'),
    nonce: h.readUInt32LE(76),
  };
}

describe('header construction', () => {
  it('rebuilds real headers from Stratum-ordered fields (prevhash word-swapped)', () => {
    for (const v of VECTORS.slice(2)) {
      const f = stratumFields(v.header);
      expect(buildHeader(f).toString('hex')).toBe(v.header);
    }
  });
  it('nonce is little-endian in the header and big-endian hex in submit', () => {
    const f = stratumFields(VECTORS[0]!.header);
    expect(nonceHex(f.nonce)).toBe('7c3f51cd');
    expect(buildHeader(f).subarray(76).toString('hex')).toBe('cd513f7c');
  });
});

describe('merkle root and jobs', () => {
  it('merkle root from the branch equals the tree root for a 3-tx block', () => {
    const txs = [Buffer.from('aa', 'hex'), Buffer.from('bb', 'hex'), Buffer.from('cc', 'hex')].map((t) => sha256d(t));
    // Tree: h(h(t0,t1), h(t2,t2)); coinbase = t0, branch = [t1, h(t2,t2)].
    const l1 = sha256d(Buffer.concat([txs[0]!, txs[1]!]));
    const r1 = sha256d(Buffer.concat([txs[2]!, txs[2]!]));
    const root = sha256d(Buffer.concat([l1, r1]));
    expect(merkleRootFromBranch(txs[0]!, [txs[1]!, r1]).equals(root)).toBe(true);
  });

  it('work units: coinbase = coinb1+en1+en2+coinb2, distinct extranonce2 and nonce slices per thread', () => {
    const job = new Job(
      {
        jobId: 'j1',
        prevhash: '11'.repeat(32),
        coinb1: 'aabb',
        coinb2: 'ccdd',
        merkleBranch: ['22'.repeat(32)],
        version: '20000000',
        nbits: '207fffff',
        ntime: '5f5e1000',
        cleanJobs: true,
      },
      { extranonce1: 'f0f1f2f3', extranonce2Size: 4, difficulty: 0.001 },
    );
    const w0 = job.workFor(0, 2, 0);
    const w1 = job.workFor(1, 2, 0);
    const w2 = job.workFor(0, 2, 1);
    expect([w0.extranonce2, w1.extranonce2, w2.extranonce2]).toEqual(['00000000', '00000001', '00000002']);
    expect(w0.nonceStart).toBe(0);
    expect(w1.nonceStart).toBe(0x80000000);
    expect(w0.nonceCount + w1.nonceCount).toBe(0x100000000);
    const coinbase = Buffer.from('aabb' + 'f0f1f2f3' + '00000001' + 'ccdd', 'hex');
    const root = sha256d(Buffer.concat([sha256d(coinbase), Buffer.from('22'.repeat(32), 'hex')]));
    expect(Buffer.from(w1.header.subarray(36, 68)).equals(root)).toBe(true);
    expect(Buffer.from(w1.header.subarray(0, 4)).toString('hex')).toBe('00000020');
    expect(w1.shareTarget).toBe(targetFromDifficulty(0.001));
    expect(w1.blockTarget).toBe(targetFromBits('207fffff'));
    expect(extranonce2Hex(0x1_0000_0005n, 4)).toBe('00000005');
  });
});
