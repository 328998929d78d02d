/**
 * Which pool to mine on, as a pure function: the live channel's choice (when it names a known
 * pool) overrides the static config; a fallback, once taken, holds until the wanted pool changes.
 */
import type { MinerConfig } from '../config/schema.js';

export interface PoolChoiceInput {
  config: MinerConfig;
  runtimePool?: string;
}

export function wantedPool({ config, runtimePool }: PoolChoiceInput): string {
  if (runtimePool && config.pools.some((p) => p.name === runtimePool)) return runtimePool;
  return config.activePool;
}

/** The pool after `current` in failover order (wrapping), or undefined if there is only one. */
export function nextPool(config: MinerConfig, current: string): string | undefined {
  if (config.pools.length < 2) return undefined;
  const i = config.pools.findIndex((p) => p.name === current);
  return config.pools[(i + 1) % config.pools.length]!.name;
}
