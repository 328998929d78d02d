import type { HashKernel } from './kernel.js';
import { NodeScryptKernel } from './scrypt-node.js';
import { TsScryptKernel } from './scrypt-ts.js';

export const KERNEL_NAMES = ['node-crypto', 'ts-scrypt'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];

/**
 * Default kernel: Node's OpenSSL scrypt measured faster than our pure-TS kernel on this machine
 * (see bench/miner.bench.ts), so it is the default; MINEFLEET_KERNEL=ts-scrypt selects the other.
 */
export const DEFAULT_KERNEL: KernelName = 'node-crypto';

export function isKernelName(s: string): s is KernelName {
  return (KERNEL_NAMES as readonly string[]).includes(s);
}

export function createKernel(name: KernelName = DEFAULT_KERNEL): HashKernel {
  return name === 'ts-scrypt' ? new TsScryptKernel() : new NodeScryptKernel();
}
