import { z } from 'zod';

/**
 * Configuration of the MongoDB history store. History is optional: the host only builds a store
 * when it has a URI, so `uri` is required here and there is no "disabled" mode inside the store.
 */
export const StoreConfigSchema = z
  .object({
    uri: z
      .string()
      .min(1, { error: 'uri must not be empty' })
      .refine((u) => u.startsWith('mongodb://') || u.startsWith('mongodb+srv://'), {
        error: 'uri must start with mongodb:// or mongodb+srv://',
      })
      .meta({ description: 'MongoDB connection string (may carry credentials; never logged).' }),
    dbName: z
      .string()
      .min(1)
      .regex(/^[^/\\. "$*<>:|?]+$/, { error: 'dbName contains a character MongoDB forbids' })
      .default('minefleet'),
    collectionPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_]*$/, { error: 'collectionPrefix may only contain letters, digits and _' })
      .default('')
      .meta({ description: 'Prefix for every collection name, e.g. "mf_" gives mf_samples.' }),
    appName: z.string().min(1).default('minefleet-operator'),
    pool: z
      .object({
        maxPoolSize: z.number().int().min(1).max(1000).default(10),
        minPoolSize: z.number().int().min(0).max(1000).default(0),
      })
      .refine((p) => p.minPoolSize <= p.maxPoolSize, { error: 'pool.minPoolSize must be <= pool.maxPoolSize', path: ['minPoolSize'] })
      .default({ maxPoolSize: 10, minPoolSize: 0 }),
    timeouts: z
      .object({
        connectTimeoutMS: z.number().int().min(100).default(5_000),
        serverSelectionTimeoutMS: z.number().int().min(100).default(5_000),
        socketTimeoutMS: z.number().int().min(0).default(30_000),
      })
      .default({ connectTimeoutMS: 5_000, serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 30_000 }),
    writer: z
      .object({
        batchSize: z.number().int().min(1).max(100_000).default(500),
        flushIntervalMs: z.number().int().min(10).default(1_000),
        retryInitialMs: z.number().int().min(10).default(500),
        retryMaxMs: z.number().int().min(10).default(10_000),
      })
      .default({ batchSize: 500, flushIntervalMs: 1_000, retryInitialMs: 500, retryMaxMs: 10_000 }),
    buffer: z.object({
      // Room for a healthy burst without touching the disk: at 10,000 pods one window close hands
      // over 10,000 samples + rollups at once, next to a cycle's shares (one per pod or more); a
      // bound of 10,000 sent every window close through the spill file (fsync'd appends, read back).
      maxMemoryDocuments: z.number().int().min(1).default(30_000).meta({ description: 'Pending documents kept in memory before they go to the spill file.' }),
      spillDir: z.string().min(1).meta({ description: 'Directory of the append-only spill file (a persistent volume in a cluster).' }),
      maxSpillBytes: z
        .number()
        .int()
        .min(1024)
        .default(1024 * 1024 * 1024),
    }),
    shares: z
      .object({
        record: z
          .enum(['all', 'rejected', 'none'])
          .default('all')
          .meta({ description: 'Volume of per-share records: every share, only rejected/stale ones, or none.' }),
      })
      .default({ record: 'all' }),
    retentionDays: z
      .object({
        samples: z.number().int().min(1).default(30),
        rollups: z.number().int().min(1).default(365),
        shares: z.number().int().min(1).default(7),
        events: z.number().int().min(1).default(365),
        probes: z.number().int().min(1).default(30),
      })
      .default({ samples: 30, rollups: 365, shares: 7, events: 365, probes: 30 }),
    retentionSweepIntervalMs: z
      .number()
      .int()
      .min(1_000)
      .default(10 * 60_000)
      .meta({ description: 'How often the store deletes expired documents itself when the server lacks TTL indexes.' }),
    pingIntervalMs: z.number().int().min(100).default(10_000).meta({
      description:
        'While there is nothing to write, the store pings MongoDB this often, so availability (minefleet_store_available, /readyz) reflects the server, not the last write.',
    }),
    runMigrations: z.boolean().default(true),
  })
  .strict();

export type StoreConfig = z.infer<typeof StoreConfigSchema>;
export type StoreConfigInput = z.input<typeof StoreConfigSchema>;

export class StoreConfigError extends Error {
  override name = 'StoreConfigError';
}

/** Validates raw configuration; the error lists every offending field by path. */
export function parseStoreConfig(input: unknown): StoreConfig {
  const r = StoreConfigSchema.safeParse(input);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new StoreConfigError(`invalid history store config: ${why}`);
  }
  return r.data;
}

/** The URI with any password replaced, for logs and errors. */
export function redactUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/]*)@/, (_m, scheme: string, cred: string) => {
    const user = cred.split(':')[0] ?? '';
    return `${scheme}${user ? `${user}:***` : '***'}@`;
  });
}
