import type { HashKernel } from './kernel.js';
import { loadNativeAddon, NativeScryptKernel, type NativePath } from './native.js';
import { NodeScryptKernel } from './scrypt-node.js';
import { TsScryptKernel } from './scrypt-ts.js';
import { loadWasmModule, WasmScryptKernel } from './wasm.js';

/**
 * `auto` (the default) picks the fastest kernel this process can run: the native addon's widest
 * SIMD path, else the WebAssembly SIMD128 kernel, else Node's OpenSSL scrypt. The others force one kernel (MINEFLEET_KERNEL, --kernel),
 * e.g. to benchmark or to pin a path; forcing one that cannot run here is an error, not a silent
 * fallback.
 */
export const KERNEL_NAMES = [
  'auto',
  'native',
  'native-avx512',
  'native-avx2',
  'native-sse2',
  'native-scalar',
  'wasm-simd',
  'node-crypto',
  'ts-scrypt',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

export const DEFAULT_KERNEL: KernelName = 'auto';

/** Fallback order of `auto`, best first. */
const AUTO_ORDER: readonly KernelName[] = ['native', 'wasm-simd', 'node-crypto'];

export function isKernelName(s: string): s is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(s);
}

export class KernelUnavailableError extends Error {}

function build(name: Exclude<KernelName, 'auto'>): HashKernel {
  switch (name) {
    case 'node-crypto':
      return new NodeScryptKernel();
    case 'ts-scrypt':
      return new TsScryptKernel();
    case 'wasm-simd': {
      const { module, error } = loadWasmModule();
      if (!module) throw new KernelUnavailableError(`kernel wasm-simd: ${error?.message ?? 'module not loaded'}`);
      return new WasmScryptKernel(module);
    }
    default: {
      const { addon, error } = loadNativeAddon();
      if (!addon) throw new KernelUnavailableError(`kernel ${name}: ${error?.message ?? 'addon not loaded'}`);
      const path = name === 'native' ? undefined : (name.slice('native-'.length) as NativePath);
      try {
        return new NativeScryptKernel(addon, path);
      } catch (e) {
        throw new KernelUnavailableError(`kernel ${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
}

/** The kernel `name` stands for; `auto` resolves to the first kernel of AUTO_ORDER that loads. */
export function createKernel(name: KernelName = DEFAULT_KERNEL): HashKernel {
  if (name !== 'auto') return build(name);
  const errors: string[] = [];
  for (const n of AUTO_ORDER) {
    try {
      return build(n as Exclude<KernelName, 'auto'>);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  throw new KernelUnavailableError(`no kernel available: ${errors.join('; ')}`);
}

/** Names that can run in this process (for --help, errors and benchmarks). */
export function availableKernels(): Exclude<KernelName, 'auto'>[] {
  return KERNEL_NAMES.filter((n): n is Exclude<KernelName, 'auto'> => {
    if (n === 'auto') return false;
    try {
      build(n);
      return true;
    } catch {
      return false;
    }
  });
}
