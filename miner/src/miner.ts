/**
 * `miner run`: wires config, pools, hashing backend, metrics and the live channel together. The
 * process keeps its PID across pool switches and config reloads; only a threads change needs a
 * restart (the operator rolls pods for static config changes anyway).
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { CpuBackend, type FoundShare } from './backends/cpu/backend.js';
import { ConfigError, checkAllCredentials, loadConfigFile, loadConfigText } from './config/load.js';
import { poolForPod } from './config/runtime.js';
import { createRuntimeSource, type RuntimeSource } from './config/runtime-watch.js';
import type { MinerConfig } from './config/schema.js';
import { FileWatcher } from './config/watch.js';
import { createKernel, DEFAULT_KERNEL, isKernelName, KERNEL_NAMES, KernelUnavailableError, type KernelName } from './hash/select.js';
import { createLogger } from './log.js';
import { MinerMetrics } from './metrics/metrics.js';
import { startMetricsServer } from './metrics/server.js';
import { ShareRing } from './metrics/share-ring.js';
import { wantedPool } from './pools/selector.js';
import { PoolManager, type SwitchCause } from './pools/switch.js';
import type { StratumClient } from './stratum/client.js';
import { nonceHex } from './work/header.js';
import type { Job } from './work/job.js';
import { leBytesToBigInt } from './work/target.js';

export const VERSION = '0.1.0';

export class ExitError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export function validateForRun(cfg: MinerConfig, env: NodeJS.ProcessEnv): void {
  if (cfg.backend.kind !== 'cpu') {
    throw new ConfigError(`backend.kind: '${cfg.backend.kind}' backend not available in this build (only 'cpu')`);
  }
  checkAllCredentials(cfg, env);
}

function reasonLabel(reason: string): string {
  return (
    reason
      .toLowerCase()
      .replace(/[^a-z0-9 _()=-]/g, '')
      .slice(0, 64) || 'unknown'
  );
}

export async function runMiner(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<{ stop: () => Promise<void> }> {
  let cfg: MinerConfig;
  try {
    cfg = loadConfigFile(configPath, env);
    validateForRun(cfg, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new ExitError(`config error: ${e.message}`, 2);
    throw e;
  }
  const kernelEnv = env.MINEFLEET_KERNEL;
  if (kernelEnv && !isKernelName(kernelEnv))
    throw new ExitError(`config error: MINEFLEET_KERNEL: unknown kernel '${kernelEnv}' (${KERNEL_NAMES.join(' | ')})`, 2);
  const kernelWanted: KernelName = kernelEnv && isKernelName(kernelEnv) ? kernelEnv : DEFAULT_KERNEL;
  // Resolve once here: the workers then all run the same concrete kernel, and the info metric names its code path.
  let kernel: string;
  let kernelLabel: string;
  try {
    const k = createKernel(kernelWanted);
    kernel = k.name;
    kernelLabel = k.label;
  } catch (e) {
    if (e instanceof KernelUnavailableError) throw new ExitError(`config error: MINEFLEET_KERNEL=${kernelWanted}: ${e.message}`, 2);
    throw e;
  }
  const threads = cfg.backend.threads ?? availableParallelism();

  const log: Logger = createLogger(cfg.logLevel, { fleet: cfg.fleet, namespace: cfg.namespace, pod: cfg.pod });
  const metrics = new MinerMetrics(threads);
  metrics.info.set({ version: VERSION, backend: 'cpu', kernel: kernelLabel }, 1);

  const jobOwner = new WeakMap<Job, StratumClient>();
  const ring = new ShareRing(cfg.metrics.shareHistory);
  let runtimePool: string | undefined;
  let runtimeRevision = -1;

  const onFound = (share: FoundShare): void => {
    const client = jobOwner.get(share.job);
    const poolName = client?.poolName ?? 'unknown';
    const h = leBytesToBigInt(share.hashLe);
    if (h > share.work.shareTarget) {
      log.error({ nonce: share.nonce, jobId: share.work.jobId }, 'kernel reported a nonce that does not meet the share target; dropped');
      return;
    }
    const base = {
      pool: poolName,
      worker: client?.opts.login ?? 'unknown',
      jobId: share.work.jobId,
      extranonce2: share.work.extranonce2,
      ntime: share.work.ntime,
      nonce: nonceHex(share.nonce),
      difficulty: share.work.difficulty,
      ...(share.isBlock ? { block: true } : {}),
    };
    if (!client || !client.isJobValid(share.work.jobId)) {
      metrics.shares.inc({ pool: poolName, result: 'stale', reason: 'job expired before submit' });
      ring.push({ ...base, time: new Date().toISOString(), result: 'stale', reason: 'job expired before submit' });
      log.debug({ pool: poolName, jobId: share.work.jobId }, 'share for an expired job; not submitted');
      return;
    }
    const hashHex = Buffer.from(share.hashLe).reverse().toString('hex');
    if (share.isBlock) {
      metrics.blocks.inc({ pool: poolName });
      log.info({ pool: poolName, jobId: share.work.jobId, hash: hashHex }, 'block candidate found; submitting');
    }
    const sub = { jobId: share.work.jobId, extranonce2: share.work.extranonce2, ntime: share.work.ntime, nonce: nonceHex(share.nonce) };
    void client.submit(sub).then((o) => {
      pools.noteSubmit(client, o);
      ring.push({ ...base, time: new Date().toISOString(), result: o.result, ...(o.result === 'accepted' ? {} : { reason: o.reason.slice(0, 512) }) });
      if (o.result === 'accepted') {
        metrics.shares.inc({ pool: poolName, result: 'accepted', reason: '' });
        log.info({ pool: poolName, ...sub, difficulty: share.work.difficulty, block: share.isBlock }, 'share accepted');
      } else {
        metrics.shares.inc({ pool: poolName, result: o.result, reason: reasonLabel(o.reason) });
        log.warn({ pool: poolName, ...sub, code: o.code, reason: o.reason, block: share.isBlock }, `share ${o.result}`);
      }
    });
  };

  const backend = new CpuBackend({ threads, kernel, log, onHashes: (t, n) => metrics.addHashes(t, n), onFound });
  await backend.start();

  const pools = new PoolManager({
    log,
    metrics,
    env,
    onJob: (client, job) => {
      jobOwner.set(job, client);
      metrics.jobReceivedAt = job.receivedAt;
      backend.setJob(job);
    },
    onNoWork: () => {
      metrics.jobReceivedAt = null;
      backend.idle();
    },
  });

  const server = await startMetricsServer(
    cfg.metrics.host,
    cfg.metrics.port,
    metrics.registry,
    {
      ready: () => {
        const c = pools.active;
        if (!c) return { ok: false, reason: 'no pool' };
        if (c.state !== 'authorized') return { ok: false, reason: `pool ${c.poolName}: ${c.state}` };
        if (!c.job) return { ok: false, reason: `pool ${c.poolName}: authorized, waiting for a job` };
        return { ok: true, reason: `mining on ${c.poolName}` };
      },
    },
    ring,
  );
  log.info({ host: cfg.metrics.host, port: server.port }, 'metrics server listening');

  const applyWanted = (cause: SwitchCause): void => pools.apply(cfg, wantedPool({ config: cfg, runtimePool }), cause);
  applyWanted('startup');

  let runtimeSource: RuntimeSource | null = null;
  const startRuntime = async (): Promise<void> => {
    runtimeSource?.stop();
    runtimeSource = null;
    if (!cfg.runtime) return;
    const channel = cfg.runtime;
    runtimeSource = createRuntimeSource(
      channel,
      log,
      (state) => {
        if (state.revision < runtimeRevision) {
          log.info({ revision: state.revision, current: runtimeRevision }, 'ignoring older runtime state');
          return;
        }
        runtimeRevision = state.revision;
        metrics.configReloads.inc({ source: 'runtime', result: 'ok' });
        const pool = poolForPod(state, cfg.pod);
        if (!cfg.pools.some((p) => p.name === pool)) {
          log.error({ activePool: pool }, `runtime activePool '${pool}' is not one of the configured pools; ignored`);
          return;
        }
        log.info({ activePool: pool, revision: state.revision }, 'runtime state received');
        runtimePool = pool;
        applyWanted('runtime');
      },
      (msg) => {
        metrics.configReloads.inc({ source: 'runtime', result: 'error' });
        log.error(msg);
      },
    );
    await runtimeSource.start();
  };
  await startRuntime();

  const configWatcher = new FileWatcher(configPath, 100, (text) => {
    if (text === null) {
      log.warn({ path: configPath }, 'config file missing; keeping current config');
      return;
    }
    try {
      const next = loadConfigText(text, env, configPath);
      validateForRun(next, env);
      const runtimeChanged = JSON.stringify(next.runtime) !== JSON.stringify(cfg.runtime);
      if ((next.backend.threads ?? availableParallelism()) !== threads) log.warn('backend.threads changed; takes effect on restart');
      cfg = next;
      log.level = cfg.logLevel;
      metrics.configReloads.inc({ source: 'file', result: 'ok' });
      log.info({ activePool: cfg.activePool }, 'config reloaded');
      applyWanted('config');
      if (runtimeChanged) void startRuntime();
    } catch (e) {
      metrics.configReloads.inc({ source: 'file', result: 'error' });
      log.error({ path: configPath }, `config reload rejected, keeping the running config: ${(e as Error).message}`);
    }
  });
  await configWatcher.start();

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping: hashing off, waiting for pending submits');
      configWatcher.stop();
      runtimeSource?.stop();
      await backend.stop();
      await pools.stop(3000);
      metrics.stop();
      await new Promise<void>((r) => server.close(() => r()));
      log.info('stopped');
    })();
    return stopping;
  };
  return { stop };
}
