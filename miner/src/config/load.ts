/**
 * Reading and validating the config file (YAML or JSON; YAML parses both) plus the environment.
 * Errors name the file and the field so a bad ConfigMap is fixed in one look.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { MinerConfigSchema, type MinerConfig, type PoolConfig } from './schema.js';

export class ConfigError extends Error {}

export function formatIssuePath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/** Validate an already-parsed object; env fills fleet/namespace/pod and MINEFLEET_THREADS. */
export function parseMinerConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, source = 'config'): MinerConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: expected a mapping at the top level`);
  const r = MinerConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${formatIssuePath(i.path)}: ${i.message}`);
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  const cfg = r.data;
  cfg.fleet = env.MINEFLEET_FLEET || cfg.fleet;
  cfg.namespace = env.POD_NAMESPACE || cfg.namespace;
  cfg.pod = env.POD_NAME || cfg.pod;
  if (env.MINEFLEET_THREADS) {
    const n = Number(env.MINEFLEET_THREADS);
    if (!Number.isInteger(n) || n < 1 || n > 1024) throw new ConfigError(`MINEFLEET_THREADS: must be an integer 1..1024, got '${env.MINEFLEET_THREADS}'`);
    cfg.backend.threads = n;
  }
  return cfg;
}

export function loadConfigText(text: string, env: NodeJS.ProcessEnv = process.env, source = 'config'): MinerConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`${source}: not valid YAML/JSON: ${(e as Error).message}`);
  }
  return parseMinerConfig(raw, env, source);
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): MinerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return loadConfigText(text, env, path);
}

export interface Credentials {
  login: string;
  password: string;
}

/** Render the worker name template with the pod identity. */
export function renderWorkerName(template: string, ids: { fleet?: string; pod?: string; namespace?: string; device?: string }): string {
  return template.replace(/\{\{\s*(fleet|pod|namespace|device)\s*\}\}/g, (_, k: 'fleet' | 'pod' | 'namespace' | 'device') => ids[k] ?? k);
}

/** Credentials for one pool from the environment; throws ConfigError naming the missing variable. */
/**
 * `device` (supervise mode): each external device gets its own worker name, `{{device}}` in the
 * template or else appended, so the pool credits every device separately.
 */
export function resolveCredentials(cfg: MinerConfig, pool: PoolConfig, env: NodeJS.ProcessEnv = process.env, device?: string): Credentials {
  const idx = cfg.pools.indexOf(pool);
  const user = env[pool.userEnv];
  if (!user) throw new ConfigError(`pools[${idx}].userEnv: environment variable ${pool.userEnv} is not set (pool '${pool.name}')`);
  let password = 'x';
  if (pool.passwordEnv) {
    const p = env[pool.passwordEnv];
    if (p === undefined) throw new ConfigError(`pools[${idx}].passwordEnv: environment variable ${pool.passwordEnv} is not set (pool '${pool.name}')`);
    password = p;
  }
  let worker = pool.workerNameTemplate ? renderWorkerName(pool.workerNameTemplate, { fleet: cfg.fleet, pod: cfg.pod, namespace: cfg.namespace, device }) : '';
  if (device && !pool.workerNameTemplate?.includes('{{device}}')) worker = worker ? `${worker}.${device}` : device;
  return { login: worker ? `${user}.${worker}` : user, password };
}

export function checkAllCredentials(cfg: MinerConfig, env: NodeJS.ProcessEnv = process.env): void {
  for (const p of cfg.pools) resolveCredentials(cfg, p, env);
}
