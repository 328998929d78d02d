/**
 * The miner's static configuration (the `<fleet>-config` ConfigMap key `miner.yaml`, mounted at
 * /etc/minefleet/miner.yaml). The operator imports this schema to render that file, so it is the
 * single source of truth for both sides. Credentials are never in here: only the NAMES of the
 * environment variables that hold them (filled from Kubernetes Secrets).
 */
import { z } from 'zod';

/** stratum+tcp://host:port or stratum+ssl://host:port (IPv6 hosts in brackets). */
export const POOL_URL_PATTERN = /^stratum\+(tcp|ssl):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\/?$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const PoolTlsSchema = z
  .object({
    caFile: z.string().min(1).optional().meta({ description: 'PEM file with the CA that signs the pool certificate' }),
    serverName: z.string().min(1).optional().meta({ description: 'TLS server name (SNI and certificate check)' }),
    insecureSkipVerify: z.boolean().optional().meta({
      description: 'Do not verify the pool certificate (chain, expiry, host name); TLS >= 1.2 is still required. Logged as a warning on every connection.',
    }),
  })
  .strict();

export const PoolConfigSchema = z
  .object({
    name: z.string().min(1).max(253).meta({ description: 'Pool name (the MiningPool name)' }),
    url: z
      .string()
      .regex(POOL_URL_PATTERN, { error: 'must be stratum+tcp://host:port or stratum+ssl://host:port' })
      .refine(
        (u) => {
          const port = Number(POOL_URL_PATTERN.exec(u)?.[3]);
          return port >= 1 && port <= 65535;
        },
        { error: 'port must be 1..65535' },
      )
      .meta({ description: 'Stratum URL' }),
    userEnv: z
      .string()
      .regex(ENV_NAME_PATTERN, { error: 'must be an environment variable name' })
      .meta({ description: 'Name of the env var holding the pool username' }),
    passwordEnv: z
      .string()
      .regex(ENV_NAME_PATTERN, { error: 'must be an environment variable name' })
      .optional()
      .meta({ description: 'Name of the env var holding the pool password' }),
    workerNameTemplate: z.string().optional().meta({ description: "Worker name template, e.g. '{{fleet}}.{{pod}}'; login = `${user}.${worker}`" }),
    tls: PoolTlsSchema.optional(),
  })
  .strict();

export const FailoverConfigSchema = z
  .object({
    // Defaults keep a dead connection to <= 5 s: a refused/reset connection, a TLS failure or a
    // refused login falls over after fallbackAfterSeconds; a session that never yields a usable
    // job after jobTimeoutSeconds; unanswered or all-rejected submits at once.
    fallbackAfterSeconds: z
      .number()
      .positive()
      .default(3)
      .meta({ description: 'Fall to the next pool after the connection has been unusable (down, TLS failure, login refused) this long' }),
    jobTimeoutSeconds: z
      .number()
      .positive()
      .default(5)
      .meta({ description: 'Fall to the next pool when a session gives no valid job this long after connecting (no job, only invalid jobs)' }),
    submitTimeoutSeconds: z
      .number()
      .positive()
      .default(5)
      .meta({ description: 'A share submit unanswered this long means the pool stalled: fall to the next pool' }),
    maxConsecutiveRejects: z
      .number()
      .int()
      .positive()
      .default(10)
      .meta({ description: 'Fall to the next pool after this many shares in a row were rejected (not stale)' }),
    idleTimeoutSeconds: z.number().positive().default(120).meta({ description: 'Reconnect when no work arrives for this long' }),
    backoff: z
      .object({
        initialMs: z.number().int().positive().default(1000),
        maxMs: z.number().int().positive().default(60000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const BackendConfigSchema = z
  .object({
    kind: z.enum(['cpu', 'gpu', 'usb']).default('cpu'),
    threads: z.number().int().positive().max(1024).optional().meta({ description: 'cpu: default all cores' }),
    devices: z.array(z.string().min(1)).optional().meta({ description: 'usb: device paths' }),
  })
  .strict();

export const MetricsConfigSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(9100),
    shareHistory: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(10_000)
      .meta({ description: 'Recent share results kept for GET /shares (a ring: older ones fall out)' }),
  })
  .strict();

export const RuntimeChannelSchema = z.union([
  z
    .object({
      kubernetes: z
        .object({
          namespace: z.string().min(1),
          configMapName: z.string().min(1),
          key: z.string().min(1).default('runtime.json'),
        })
        .strict(),
    })
    .strict(),
  z.object({ file: z.object({ path: z.string().min(1) }).strict() }).strict(),
]);

/** A device name: the `device` metric label and the last part of its worker name. */
export const EXTERNAL_DEVICE_NAME_PATTERN = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** `miner supervise`: the external miners (cgminer API) this process drives. */
export const ExternalDeviceSchema = z
  .object({
    name: z
      .string()
      .regex(EXTERNAL_DEVICE_NAME_PATTERN, { error: 'must be a DNS-label-like name (lower case, digits, - and .)' })
      .meta({ description: 'Device name: the `device` metric label and part of its worker name' }),
    host: z.string().min(1).meta({ description: 'Host or IP of the device API' }),
    port: z.number().int().min(1).max(65535).default(4028).meta({ description: 'cgminer API port' }),
    model: z.string().min(1).optional().meta({ description: 'Model id for unit normalisation (default: detected from the device)' }),
  })
  .strict();

export const ExternalConfigSchema = z
  .object({
    devices: z.array(ExternalDeviceSchema).min(1).meta({ description: 'Devices this supervisor drives' }),
    pollIntervalSeconds: z.number().positive().max(3600).default(5),
    requestTimeoutMs: z.number().int().min(100).max(60_000).default(3000),
    maxReplyBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024),
  })
  .strict()
  .superRefine((e, ctx) => {
    const seen = new Set<string>();
    e.devices.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'name'], message: `duplicate device name '${d.name}'` });
      seen.add(d.name);
    });
  });

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const MinerConfigSchema = z
  .object({
    fleet: z.string().min(1).optional().meta({ description: 'Fleet name (env MINEFLEET_FLEET)' }),
    namespace: z.string().min(1).optional().meta({ description: 'Namespace (env POD_NAMESPACE)' }),
    pod: z.string().min(1).optional().meta({ description: 'Pod name (env POD_NAME)' }),
    pools: z.array(PoolConfigSchema).min(1).meta({ description: 'Pools in failover order' }),
    activePool: z.string().min(1).meta({ description: 'Name of the pool to mine on (the live channel overrides it)' }),
    failover: FailoverConfigSchema.prefault({}),
    backend: BackendConfigSchema.prefault({}),
    metrics: MetricsConfigSchema.prefault({}),
    runtime: RuntimeChannelSchema.optional(),
    external: ExternalConfigSchema.optional().meta({ description: 'supervise mode: external miners driven over the cgminer API' }),
    logLevel: z.enum(LOG_LEVELS).default('info'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.pools.forEach((p, i) => {
      if (seen.has(p.name)) {
        ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: `duplicate pool name '${p.name}'` });
      }
      seen.add(p.name);
    });
    if (!seen.has(cfg.activePool)) {
      ctx.addIssue({
        code: 'custom',
        path: ['activePool'],
        message: `'${cfg.activePool}' is not one of the pools (${[...seen].join(', ')})`,
      });
    }
    if (cfg.failover.backoff.maxMs < cfg.failover.backoff.initialMs) {
      ctx.addIssue({ code: 'custom', path: ['failover', 'backoff', 'maxMs'], message: 'must be >= initialMs' });
    }
  });

/** Parsed config with defaults applied. */
export type MinerConfig = z.output<typeof MinerConfigSchema>;
/** What a writer (the operator) may leave out: defaults are filled on parse. */
export type MinerConfigInput = z.input<typeof MinerConfigSchema>;
export type PoolConfig = z.output<typeof PoolConfigSchema>;
export type RuntimeChannel = z.output<typeof RuntimeChannelSchema>;
export type ExternalConfig = z.output<typeof ExternalConfigSchema>;
export type ExternalConfigInput = z.input<typeof ExternalConfigSchema>;
