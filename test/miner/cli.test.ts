import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MINER_MAIN } from './helpers.js';
import { VECTORS } from './vectors.js';

const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [MINER_MAIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });

const dir = mkdtempSync(join(tmpdir(), 'miner-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('miner CLI (process)', () => {
  it('hash prints the display-order PoW hash and target check for Litecoin genesis', () => {
    const r = run(['hash', VECTORS[0]!.header]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ powHash: VECTORS[0]!.powHash, blockHash: VECTORS[0]!.blockHash, bits: '1e0ffff0', meetsTarget: true });
  });
  it('hash --bits with a harder target says it does not meet it; ts kernel agrees', () => {
    const r = run(['hash', VECTORS[2]!.header, '--bits', '1a00ffff', '--kernel', 'ts-scrypt']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ powHash: VECTORS[2]!.powHash, meetsTarget: false });
  });
  it('hash rejects bad input with exit 2 and a clear message', () => {
    const r = run(['hash', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/160 hex digits/);
  });
  it('--help prints usage and exits 0; an unknown command exits 2 with usage', () => {
    for (const args of [['--help'], ['hash', '-h'], ['help']]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).toMatch(/miner hash HEADER_HEX/);
    }
    const bad = run(['mine']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'mine'[\s\S]*usage:/);
  });
  it('bench prints kH/s as JSON', () => {
    const r = run(['bench', '--threads', '1', '--seconds', '1']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.threads).toBe(1);
    expect(out.hashes).toBeGreaterThan(100);
    expect(out.khps).toBeGreaterThan(0.1);
  });
  it('bad config: exit 2, message names the field', () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, 'pools:\n  - name: a\n    url: stratum+tcp://127.0.0.1:1\n    userEnv: U\nactivePool: b\n');
    const r = run(['run', '--config', f], { U: 'u' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/activePool: 'b' is not one of the pools/);
  });
  it('missing credential env and unavailable backend: exit 2 naming the field', () => {
    const f = join(dir, 'nouser.yaml');
    writeFileSync(f, 'pools:\n  - name: a\n    url: stratum+tcp://127.0.0.1:1\n    userEnv: MY_POOL_USER\nactivePool: a\n');
    const r = run(['run', '--config', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/pools\[0\]\.userEnv: environment variable MY_POOL_USER is not set/);
    const g = join(dir, 'gpu.yaml');
    writeFileSync(g, 'pools:\n  - name: a\n    url: stratum+tcp://127.0.0.1:1\n    userEnv: U\nactivePool: a\nbackend: { kind: gpu }\n');
    const r2 = run(['run', '--config', g], { U: 'u' });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/backend\.kind: 'gpu' backend not available in this build/);
  });
  it('MINEFLEET_KERNEL: an unknown kernel exits 2 naming the variable and the choices', () => {
    const f = join(dir, 'kernel.yaml');
    writeFileSync(f, 'pools:\n  - name: a\n    url: stratum+tcp://127.0.0.1:1\n    userEnv: U\nactivePool: a\n');
    const r = run(['run', '--config', f], { U: 'u', MINEFLEET_KERNEL: 'avx9000' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/MINEFLEET_KERNEL: unknown kernel 'avx9000' \(auto \| native \| .*wasm-simd \| node-crypto \| ts-scrypt\)/);
  });
  it('unreadable config file: exit 2', () => {
    const r = run(['run', '--config', join(dir, 'missing.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot read config file/);
  });
});
