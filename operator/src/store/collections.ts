import type { StoreConfig } from './config.js';
import type { CollectionKind } from './schemas.js';

export interface CollectionNames {
  samples: string;
  rollups: string;
  shares: string;
  events: string;
  probes: string;
  migrations: string;
}

export function collectionNames(prefix: string): CollectionNames {
  return {
    samples: `${prefix}samples`,
    rollups: `${prefix}rollups`,
    shares: `${prefix}shares`,
    events: `${prefix}events`,
    probes: `${prefix}probes`,
    migrations: `${prefix}migrations`,
  };
}

/** The field each collection's retention counts from. */
export const TIME_FIELD: Record<CollectionKind, string> = {
  samples: 'windowStart',
  rollups: 'windowStart',
  shares: 'time',
  events: 'time',
  probes: 'time',
};

export function retentionMs(config: StoreConfig, kind: CollectionKind): number {
  return config.retentionDays[kind] * 86_400_000;
}
