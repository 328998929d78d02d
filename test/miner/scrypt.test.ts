import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { meetsTarget } from '../../miner/src/hash/kernel.js';
import { NodeScryptKernel } from '../../miner/src/hash/scrypt-node.js';
import { TsScryptKernel } from '../../miner/src/hash/scrypt-ts.js';
import { sha256d } from '../../miner/src/work/merkle.js';
import { leBytesToBigInt, targetFromBits, targetToLeBytes } from '../../miner/src/work/target.js';
import { VECTORS } from './vectors.js';

const kernels = [new NodeScryptKernel(), new TsScryptKernel()];
const display = (b: Uint8Array) => Buffer.from(b).reverse().toString('hex');

describe('scrypt kernels on real block headers', () => {
  for (const v of VECTORS) {
    it(`${v.name}`, () => {
      const header = Buffer.from(v.header, 'hex');
      expect(header.length).toBe(80);
      if (v.blockHash) expect(display(sha256d(header))).toBe(v.blockHash);
      const hashes = kernels.map((k) => k.hash(header));
      expect(display(hashes[0]!)).toBe(display(hashes[1]!));
      if (v.powHash) expect(display(hashes[0]!)).toBe(v.powHash);
      const bits = Buffer.from(header.subarray(72, 76)).reverse().toString('hex');
      expect(leBytesToBigInt(hashes[0]!) <= targetFromBits(bits)).toBe(v.meetsBits);
    });
  }

  it('Litecoin genesis no longer meets nBits with a different nonce', () => {
    const header = Buffer.from(VECTORS[0]!.header, 'hex');
    header.writeUInt32LE(header.readUInt32LE(76) + 1, 76);
    const h = new TsScryptKernel().hash(header);
    expect(leBytesToBigInt(h) <= targetFromBits('1e0ffff0')).toBe(false);
  });

  it('both kernels agree on random headers', () => {
    for (let i = 0; i < 12; i++) {
      const h = randomBytes(80);
      expect(display(kernels[1]!.hash(h))).toBe(display(kernels[0]!.hash(h)));
    }
  });

  it('scanNonces finds exactly the nonces whose hash meets the target, in both kernels', () => {
    const header = randomBytes(80);
    // A target that roughly 1 in 4 hashes meets: top two bits clear.
    const target = targetToLeBytes((1n << 254n) - 1n);
    const results = kernels.map((k) => k.scanNonces(header, 0xfffffff0, 40, target)); // wraps past 2^32
    expect(results[0]!.hashes).toBe(40);
    expect(results[0]!.found).toEqual(results[1]!.found);
    expect(results[0]!.found.length).toBeGreaterThan(0);
    const expected: number[] = [];
    for (let i = 0; i < 40; i++) {
      const n = (0xfffffff0 + i) >>> 0;
      const h = Buffer.from(header);
      h.writeUInt32LE(n, 76);
      if (meetsTarget(kernels[0]!.hash(h), target)) expected.push(n);
    }
    expect(results[0]!.found).toEqual(expected);
  });
});
