#!/usr/bin/env node
// Compiles the portable WebAssembly SIMD128 scrypt kernel (miner/native/wasm/scrypt.ts, AssemblyScript,
// a devDependency) to dist/native/scrypt-simd.wasm and build/wasm/ (what the image context takes).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(dirname(createRequire(import.meta.url).resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const out = join(root, 'build', 'wasm', 'scrypt-simd.wasm');
mkdirSync(dirname(out), { recursive: true });
// 10 pages (640 KiB) fixed: the memory map in scrypt.ts needs 576 KiB; no allocator, no growth.
// Static data (the SHA-256 constants) goes at 16384, between the kernel's fixed regions and V.
const args = [
  asc,
  join(root, 'miner', 'native', 'wasm', 'scrypt.ts'),
  '-O3',
  '--runtime',
  'stub',
  '--enable',
  'simd',
  '--memoryBase',
  '16384',
  '--initialMemory',
  '10',
  '--maximumMemory',
  '10',
  '-o',
  out,
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`[build-wasm] asc failed (exit ${r.status ?? r.signal})`);
  process.exit(1);
}
mkdirSync(join(root, 'dist', 'native'), { recursive: true });
copyFileSync(out, join(root, 'dist', 'native', 'scrypt-simd.wasm'));
console.error('[build-wasm] built dist/native/scrypt-simd.wasm');
