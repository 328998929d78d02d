/**
 * The native scrypt kernel (miner/native/scrypt/*.c, an N-API addon built by node-gyp): SIMD ROMix with
 * one hash per vector lane (16 with AVX-512F, 8 with AVX2, 4 with SSE2, 1 in portable C), SHA-256
 * midstate for the constant first 64 header bytes, SHA-NI where the CPU has it. The addon detects
 * the CPU at load time; this module only finds and loads it, so a missing or broken addon makes
 * `loadNativeAddon()` return an error and the caller falls back to the WebAssembly kernel.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HashKernel, ScanResult } from './kernel.js';

export type NativePath = 'avx512' | 'avx2' | 'sse2' | 'scalar';
export type NativeSha = 'sha-ni' | 'c';

export interface NativeInfo {
  features: { sse2: boolean; avx2: boolean; avx512f: boolean; sha: boolean };
  /** Paths this CPU can run, widest first. */
  paths: { name: NativePath; lanes: number }[];
  best: NativePath;
  sha: NativeSha;
}

export interface NativeAddon {
  info(): NativeInfo;
  scan(header: Uint8Array, start: number, count: number, target: Uint8Array, path: NativePath, sha: NativeSha): number[];
  hashRange(header: Uint8Array, start: number, count: number, path: NativePath, sha: NativeSha): Uint8Array;
}

export const ADDON_FILE = 'minefleet_scrypt.node';

/**
 * The repository (or image) root: the nearest directory above this module with a package.json,
 * skipping dist/package.json (scripts/dist-package.mjs writes it only for the `#miner/*` imports of
 * the built code; taking it as the root made the miner look for dist/dist/native and silently
 * fall back to node-crypto).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && !isDistManifest(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('no package.json above the miner module');
    dir = up;
  }
}

function isDistManifest(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'minefleet-dist';
  } catch {
    return false;
  }
}

/** Where the addon may be: MINEFLEET_NATIVE_ADDON, else dist/native (what the image ships), else node-gyp's build/Release. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.MINEFLEET_NATIVE_ADDON) return [env.MINEFLEET_NATIVE_ADDON];
  const root = packageRoot();
  return [join(root, 'dist', 'native', ADDON_FILE), join(root, 'build', 'Release', ADDON_FILE)];
}

let cached: { addon?: NativeAddon; error?: Error } | undefined;

/**
 * Load the addon once per thread. MINEFLEET_NATIVE=off disables it (to run and test the fallbacks
 * on a machine that has it).
 */
export function loadNativeAddon(env: NodeJS.ProcessEnv = process.env): { addon?: NativeAddon; error?: Error } {
  if (cached) return cached;
  if (env.MINEFLEET_NATIVE === 'off' || env.MINEFLEET_NATIVE === '0') {
    cached = { error: new Error('native kernel disabled by MINEFLEET_NATIVE') };
    return cached;
  }
  const tried: string[] = [];
  for (const file of addonCandidates(env)) {
    if (!existsSync(file)) {
      tried.push(`${file} (missing)`);
      continue;
    }
    try {
      const addon = createRequire(import.meta.url)(file) as NativeAddon;
      addon.info(); // proves the binary is loadable and speaks our interface
      cached = { addon };
      return cached;
    } catch (e) {
      tried.push(`${file} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  cached = { error: new Error(`native scrypt addon not available: ${tried.join('; ')}`) };
  return cached;
}

/** Nonces per scanNonces call: several batches of lanes, still only milliseconds per call. */
const BATCHES_PER_CALL = 4;

export class NativeScryptKernel implements HashKernel {
  readonly name: string;
  readonly label: string;
  readonly batch: number;
  private readonly path: NativePath;
  private readonly sha: NativeSha;

  constructor(
    private readonly addon: NativeAddon,
    path?: NativePath,
    sha?: NativeSha,
  ) {
    const info = addon.info();
    const p = path === undefined ? info.paths[0]! : info.paths.find((x) => x.name === path);
    if (!p) throw new Error(`native kernel: this CPU cannot run the ${path} path (it can: ${info.paths.map((x) => x.name).join(', ')})`);
    this.path = p.name;
    this.sha = sha ?? info.sha;
    this.name = path === undefined ? 'native' : `native-${path}`;
    this.label = `native-${p.name}x${p.lanes}+${this.sha === 'sha-ni' ? 'sha-ni' : 'sha-c'}`;
    this.batch = p.lanes * BATCHES_PER_CALL;
  }

  scanNonces(header80: Uint8Array, startNonce: number, count: number, target: Uint8Array): ScanResult {
    const found = this.addon.scan(header80, startNonce >>> 0, count, target, this.path, this.sha);
    return { hashes: count, found };
  }

  hash(header80: Uint8Array): Uint8Array {
    if (header80.length < 80) throw new Error(`header must be 80 bytes, got ${header80.length}`);
    const nonce = (header80[76]! | (header80[77]! << 8) | (header80[78]! << 16) | (header80[79]! << 24)) >>> 0;
    return new Uint8Array(this.addon.hashRange(header80, nonce, 1, this.path, this.sha));
  }

  hashRange(header80: Uint8Array, startNonce: number, count: number): Uint8Array {
    return new Uint8Array(this.addon.hashRange(header80, startNonce >>> 0, count, this.path, this.sha));
  }
}
