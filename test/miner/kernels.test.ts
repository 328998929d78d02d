/**
 * Every kernel against Node's crypto.scrypt (OpenSSL) as the reference: real Litecoin/Dogecoin
 * headers, then >= 10,000 random headers x nonces in ranges of which some wrap at 2^32, hash by
 * hash, and the nonces scanNonces finds under a target that splits each range. Native paths are
 * tested one by one (each SIMD width, with and without SHA-NI) wherever the CPU can run them.
 */
import { randomBytes, scrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { HashKernel } from '../../miner/src/hash/kernel.js';
import { loadNativeAddon, NativeScryptKernel, type NativeSha } from '../../miner/src/hash/native.js';
import { availableKernels, createKernel, KERNEL_NAMES } from '../../miner/src/hash/select.js';
import { VECTORS } from './vectors.js';

const OPTS = { N: 1024, r: 1, p: 1, maxmem: 32 * 1024 * 1024 };
const RANGES = 200;
const PER_RANGE = 50; // 200 x 50 = 10,000 hashes per kernel
const display = (b: Uint8Array) => Buffer.from(b).reverse().toString('hex');

function reference(header: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(header, header, 32, OPTS, (e, k) => (e ? reject(e) : resolve(k))));
}

interface Case {
  header: Buffer;
  start: number;
  hashes: Buffer;
  target: Uint8Array;
  found: number[];
}

/** Random headers and nonce ranges (every 8th starts just below 2^32 and wraps), hashed by OpenSSL. */
async function makeCases(): Promise<Case[]> {
  const cases: Case[] = [];
  for (let r = 0; r < RANGES; r++) {
    const header = randomBytes(80);
    const start = r % 8 === 0 ? 2 ** 32 - 1 - (r % 40) : randomBytes(4).readUInt32LE(0);
    const jobs: Promise<Buffer>[] = [];
    for (let i = 0; i < PER_RANGE; i++) {
      const h = Buffer.from(header);
      h.writeUInt32LE((start + i) >>> 0, 76);
      jobs.push(reference(h));
    }
    const each = await Promise.all(jobs);
    // Target = the 10th smallest hash of the range: scanNonces must find exactly those 10 nonces.
    const sorted = [...each].sort((a, b) => Buffer.compare(Buffer.from(a).reverse(), Buffer.from(b).reverse()));
    const target = new Uint8Array(sorted[9]!);
    const found = each.flatMap((h, i) => (Buffer.compare(Buffer.from(h).reverse(), Buffer.from(target).reverse()) <= 0 ? [(start + i) >>> 0] : []));
    cases.push({ header, start, hashes: Buffer.concat(each), target, found });
  }
  return cases;
}

/**
 * Every kernel that runs here, once per code path (`native` is the same path as its widest
 * `native-*`), plus the widest native path with the portable C SHA-256 where SHA-NI is the default.
 */
function kernelsUnderTest(): HashKernel[] {
  const ks: HashKernel[] = availableKernels().map((n) => createKernel(n));
  const { addon } = loadNativeAddon();
  if (addon) {
    const info = addon.info();
    const c: NativeSha = 'c';
    if (info.sha === 'sha-ni') ks.push(new NativeScryptKernel(addon, info.paths[0]!.name, c));
  }
  return ks.filter((k, i) => ks.findIndex((x) => x.label === k.label) === i);
}

const kernels = kernelsUnderTest();
let casesP: Promise<Case[]> | undefined;
const cases = () => (casesP ??= makeCases());

describe('kernel selection', () => {
  it('the native addon is built here and auto picks its widest path', () => {
    const { addon, error } = loadNativeAddon();
    expect(error).toBeUndefined();
    const info = addon!.info();
    expect(info.paths.at(-1)!.name).toBe('scalar');
    const auto = createKernel('auto');
    expect(auto.name).toBe('native');
    expect(auto.label).toBe(`native-${info.paths[0]!.name}x${info.paths[0]!.lanes}+${info.sha === 'sha-ni' ? 'sha-ni' : 'sha-c'}`);
    expect(auto.batch % info.paths[0]!.lanes).toBe(0);
  });

  it('every name is known, and a native path the CPU lacks is a clear error', () => {
    expect(KERNEL_NAMES).toContain('node-crypto');
    const info = loadNativeAddon().addon!.info();
    for (const p of ['avx512', 'avx2', 'sse2'] as const) {
      if (info.paths.some((x) => x.name === p)) expect(createKernel(`native-${p}`).label).toMatch(new RegExp(`^native-${p}x`));
      else expect(() => createKernel(`native-${p}`)).toThrow(/cannot run the/);
    }
  });

  it('the addon rejects bad arguments with errors naming them', () => {
    const { addon } = loadNativeAddon();
    const h = randomBytes(80);
    expect(() => addon!.scan(h.subarray(0, 79), 0, 1, new Uint8Array(32), 'scalar', 'c')).toThrow(/header must be a Uint8Array of at least 80 bytes, got 79/);
    expect(() => addon!.scan(h, -1, 1, new Uint8Array(32), 'scalar', 'c')).toThrow(/start must be an integer/);
    expect(() => addon!.scan(h, 0, 1, new Uint8Array(31), 'scalar', 'c')).toThrow(/target must be/);
    expect(() => addon!.scan(h, 0, 1, new Uint8Array(32), 'mmx' as never, 'c')).toThrow(/path 'mmx' is unknown/);
    expect(() => addon!.hashRange(h, 0, 1, 'scalar', 'md5' as never)).toThrow(/sha 'md5' is unknown/);
  });
});

describe.each(kernels.map((k) => [k.label, k] as const))('kernel %s', (_label, kernel) => {
  it('hashes the real Litecoin and Dogecoin headers like OpenSSL, and to the known PoW hashes', async () => {
    for (const v of VECTORS) {
      const header = Buffer.from(v.header, 'hex');
      const h = kernel.hash(header);
      expect(display(h), v.name).toBe(display(await reference(header)));
      if (v.powHash) expect(display(h), v.name).toBe(v.powHash);
    }
  });

  it(`matches crypto.scrypt on ${RANGES * PER_RANGE} random headers x nonces, ranges wrapping at 2^32; finds the same nonces`, async () => {
    let wrapped = 0;
    for (const c of await cases()) {
      const got = Buffer.from(kernel.hashRange(c.header, c.start, PER_RANGE));
      if (!got.equals(c.hashes)) {
        const i = [...Array(PER_RANGE).keys()].find((k) => !got.subarray(32 * k, 32 * k + 32).equals(c.hashes.subarray(32 * k, 32 * k + 32)))!;
        expect.fail(
          `header ${c.header.toString('hex')} nonce ${(c.start + i) >>> 0}: ${got.subarray(32 * i, 32 * i + 32).toString('hex')} != ${c.hashes.subarray(32 * i, 32 * i + 32).toString('hex')}`,
        );
      }
      const r = kernel.scanNonces(c.header, c.start, PER_RANGE, c.target);
      expect(r.hashes).toBe(PER_RANGE);
      expect(r.found).toEqual(c.found);
      if (c.start + PER_RANGE > 2 ** 32) wrapped++;
    }
    expect(wrapped).toBeGreaterThan(10);
  }, 600_000);
});
