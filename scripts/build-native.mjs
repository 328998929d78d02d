#!/usr/bin/env node
// Builds the native scrypt addon (binding.gyp, miner/native/scrypt) with the node-gyp that ships with npm,
// against the installed Node headers (no download), and copies it to dist/native/ where the image
// and the miner find it. A machine without a C toolchain still gets a working miner (the kernel
// selection falls back), so a failed build warns and exits 0 unless MINEFLEET_NATIVE_REQUIRED=1.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prefix = join(dirname(process.execPath), '..');
const required = process.env.MINEFLEET_NATIVE_REQUIRED === '1';

function fail(msg) {
  console.error(`[build-native] ${required ? 'ERROR' : 'warning'}: ${msg}`);
  console.error('[build-native] the miner will use the fallback kernels (wasm-simd, node-crypto)');
  process.exit(required ? 1 : 0);
}

if (process.env.MINEFLEET_NATIVE === 'off') fail('MINEFLEET_NATIVE=off: not building the native addon');

// npm sets npm_config_node_gyp for lifecycle scripts; otherwise use the copy bundled with npm.
const gyp = [process.env.npm_config_node_gyp, join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (p) => p && existsSync(p),
);
if (!gyp) fail('node-gyp not found (neither npm_config_node_gyp nor the one bundled with npm)');

// Use the headers of the running Node (Debian: /usr/include/node, official images: /usr/local/include/node)
// so node-gyp never tries to download them.
const args = [gyp, 'rebuild', '--release', '--silent'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
const built = join(root, 'build', 'Release', 'minefleet_scrypt.node');
if (r.status !== 0 || !existsSync(built)) fail(`node-gyp rebuild failed (exit ${r.status ?? r.signal})`);
mkdirSync(join(root, 'dist', 'native'), { recursive: true });
copyFileSync(built, join(root, 'dist', 'native', 'minefleet_scrypt.node'));
console.error('[build-native] built dist/native/minefleet_scrypt.node');
