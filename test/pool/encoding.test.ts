// The pool's pure building blocks against known values.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bitsToTarget, difficultyToTarget, scriptNumberPush, varint } from '../support/stratum/bytes.js';
import { coinbaseForBlock, buildCoinbaseHalves, merkleBranch, merkleRoot, merkleRootFromBranch, stratumPrevHash } from '../support/stratum/job.js';

describe('test pool encodings', () => {
  it('decodes nBits like arith_uint256::SetCompact', () => {
    expect(bitsToTarget(0x1d00ffff)).toBe(0xffffn << 208n); // Bitcoin difficulty 1
    expect(bitsToTarget(0x1e0ffff0)).toBe(0x0ffff0n << 216n); // Litecoin genesis
    expect(bitsToTarget(0x207fffff)).toBe(0x7fffffn << 232n); // regtest
    expect(bitsToTarget(0x03123456)).toBe(0x123456n);
    expect(bitsToTarget(0x02123456)).toBe(0x1234n);
    expect(() => bitsToTarget(0x1d800000)).toThrow(/negative/);
  });

  it('uses the scrypt share target convention (diff 1 = 0x0000ffff << 224)', () => {
    expect(difficultyToTarget(1)).toBe(0xffffn << 224n);
    expect(difficultyToTarget(65536)).toBe(0xffffn << 208n); // Bitcoin's diff-1 target
    expect(difficultyToTarget(0.5)).toBe(0xffffn << 225n);
    // Fractional difficulties: within rounding of diff1 / d.
    const t = difficultyToTarget(0.001);
    const exact = (0xffffn << 224n) * 1000n;
    expect(Number(((t > exact ? t - exact : exact - t) * 10n ** 12n) / exact)).toBeLessThan(1);
    expect(difficultyToTarget(1e-9)).toBe((1n << 256n) - 1n); // clamped
    expect(() => difficultyToTarget(0)).toThrow(/positive/);
    expect(() => difficultyToTarget(Number.NaN)).toThrow(/positive/);
  });

  it('pushes the BIP34 height as CScript() << n does', () => {
    const hex = (n: number): string => scriptNumberPush(n).toString('hex');
    expect(hex(0)).toBe('00');
    expect(hex(1)).toBe('51');
    expect(hex(16)).toBe('60');
    expect(hex(17)).toBe('0111');
    expect(hex(127)).toBe('017f');
    expect(hex(128)).toBe('028000');
    expect(hex(431)).toBe('02af01'); // seen in a litecoind-made regtest coinbase
    expect(hex(65536)).toBe('03000001');
    expect(hex(2383209)).toBe('03695d24'); // Litecoin mainnet block 2,383,209's coinbase starts 03695d24
  });

  it('encodes CompactSize', () => {
    expect(varint(0xfc).toString('hex')).toBe('fc');
    expect(varint(0xfd).toString('hex')).toBe('fdfd00');
    expect(varint(0x10000).toString('hex')).toBe('fe00000100');
  });

  it('sends prevhash with its 32-bit words reversed (what cpuminer un-swaps word by word)', () => {
    const display = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
    expect(stratumPrevHash(display)).toBe('1c1d1e1f18191a1b1415161710111213' + '0c0d0e0f08090a0b0405060700010203');
    // Read word by word little-endian it is the header's (byte-reversed) hash.
    const wire = Buffer.from(stratumPrevHash(display), 'hex');
    for (let i = 0; i < 32; i += 4) wire.subarray(i, i + 4).reverse();
    expect(wire.toString('hex')).toBe(Buffer.from(display, 'hex').reverse().toString('hex'));
  });

  it('merkle branch folds to the same root as the full tree for 0..12 other transactions', () => {
    for (let n = 0; n <= 12; n++) {
      const coinbase = randomBytes(32);
      const others = Array.from({ length: n }, () => randomBytes(32));
      expect(merkleRootFromBranch(coinbase, merkleBranch(others)).equals(merkleRoot([coinbase, ...others])), `n=${n}`).toBe(true);
    }
  });

  it('splits the coinbase at the extranonce and adds the witness for blocks', () => {
    const { coinb1, coinb2 } = buildCoinbaseHalves({
      height: 500,
      value: 5_000_000_000,
      payoutScript: Buffer.from('0014' + '11'.repeat(20), 'hex'),
      witnessCommitmentScript: Buffer.from('6a24aa21a9ed' + '22'.repeat(32), 'hex'),
      extranonceSize: 8,
    });
    // version, 1 input, null prevout, scriptSig length, then the height push ends coinb1
    expect(coinb1.toString('hex')).toBe('01000000' + '01' + '00'.repeat(32) + 'ffffffff' + '20' + '02f401');
    const tx = Buffer.concat([coinb1, Buffer.alloc(8, 0xee), coinb2]);
    const withWitness = coinbaseForBlock(tx, true);
    expect(withWitness.subarray(4, 6).toString('hex')).toBe('0001');
    expect(withWitness.length).toBe(tx.length + 2 + 1 + 1 + 32);
    expect(withWitness.subarray(-4 - 34, -4).toString('hex')).toBe('0120' + '00'.repeat(32));
  });
});
