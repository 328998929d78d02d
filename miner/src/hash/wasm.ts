/**
 * The portable kernel: miner/native/wasm/scrypt.ts (AssemblyScript) compiled to WebAssembly with SIMD128
 * by `npm run build` (scripts/build-wasm.mjs). Four hashes per v128, the same vertical design as
 * the native addon, so images and machines without the addon still hash well above the
 * one-call-per-nonce OpenSSL kernel. One instance (and 512 KiB scratchpad) per kernel object.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HashKernel, ScanResult } from './kernel.js';
import { packageRoot } from './native.js';

export const WASM_FILE = 'scrypt-simd.wasm';

// Linear-memory regions shared with miner/native/wasm/scrypt.ts.
const HEADER = 0;
const TARGET = 128;
const OUT = 256;
const FOUND = 1024;
const MAX_FOUND = 1024;
const LANES = 4;

// The project's lib has no DOM types, so the few WebAssembly JS API members used are declared here.
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { buffer: ArrayBuffer };
  loadHeader(): void;
  hashBatch(start: number, n: number): void;
  scan(start: number, count: number): number;
}

let cachedModule: { module?: WasmModule; error?: Error } | undefined;

export function wasmCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.MINEFLEET_WASM_KERNEL) return [env.MINEFLEET_WASM_KERNEL];
  const root = packageRoot();
  return [join(root, 'dist', 'native', WASM_FILE), join(root, 'build', 'wasm', WASM_FILE)];
}

/** Compile the module once per thread; an error says what is missing (no file, no SIMD in this engine). */
export function loadWasmModule(env: NodeJS.ProcessEnv = process.env): { module?: WasmModule; error?: Error } {
  if (cachedModule) return cachedModule;
  const tried: string[] = [];
  for (const file of wasmCandidates(env)) {
    if (!existsSync(file)) {
      tried.push(`${file} (missing)`);
      continue;
    }
    try {
      cachedModule = { module: new WA.Module(readFileSync(file)) };
      return cachedModule;
    } catch (e) {
      tried.push(`${file} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  cachedModule = { error: new Error(`wasm scrypt kernel not available: ${tried.join('; ')}`) };
  return cachedModule;
}

export class WasmScryptKernel implements HashKernel {
  readonly name = 'wasm-simd';
  readonly label = 'wasm-simd128x4';
  readonly batch = LANES * 4;
  private readonly x: Exports;
  private readonly mem: Uint8Array;

  constructor(module: WasmModule) {
    this.x = new WA.Instance(module, {}).exports as Exports;
    this.mem = new Uint8Array(this.x.memory.buffer);
  }

  private load(header80: Uint8Array): void {
    if (header80.length < 80) throw new Error(`header must be 80 bytes, got ${header80.length}`);
    this.mem.set(header80.subarray(0, 80), HEADER);
    this.x.loadHeader();
  }

  scanNonces(header80: Uint8Array, startNonce: number, count: number, target: Uint8Array): ScanResult {
    if (target.length < 32) throw new Error(`target must be 32 bytes, got ${target.length}`);
    this.load(header80);
    this.mem.set(target.subarray(0, 32), TARGET);
    const found: number[] = [];
    // Chunks small enough that the found list in linear memory cannot overflow.
    for (let done = 0; done < count; done += MAX_FOUND) {
      const n = Math.min(MAX_FOUND, count - done);
      const k = this.x.scan((startNonce + done) >>> 0, n);
      const view = new DataView(this.x.memory.buffer, FOUND, 4 * k);
      for (let i = 0; i < k; i++) found.push(view.getUint32(4 * i, true));
    }
    return { hashes: count, found };
  }

  hashRange(header80: Uint8Array, startNonce: number, count: number): Uint8Array {
    this.load(header80);
    const out = new Uint8Array(32 * count);
    for (let done = 0; done < count; done += LANES) {
      const n = Math.min(LANES, count - done);
      this.x.hashBatch((startNonce + done) >>> 0, n);
      out.set(this.mem.subarray(OUT, OUT + 32 * n), 32 * done);
    }
    return out;
  }

  hash(header80: Uint8Array): Uint8Array {
    const nonce = (header80[76]! | (header80[77]! << 8) | (header80[78]! << 16) | (header80[79]! << 24)) >>> 0;
    return this.hashRange(header80, nonce, 1);
  }
}
