/**
 * `miner supervise --config FILE`: the same config file and live channel as `miner run`, but
 * instead of hashing, drives the devices listed under `external` to the fleet's pool decision
 * (runtime.json activePool, else the static activePool) and suspension (runtime.json
 * suspended), and exports their metrics. Credentials come from the same env vars as the CPU
 * miner's; each device gets its own worker name.
 */
import type { Logger } from 'pino';
import { ConfigError, checkAllCredentials, loadConfigFile, loadConfigText, resolveCredentials } from '../config/load.js';
import { devicesForPod, poolForPod } from '../config/runtime.js';
import { createRuntimeSource, type RuntimeSource } from '../config/runtime-watch.js';
import type { MinerConfig } from '../config/schema.js';
import { FileWatcher } from '../config/watch.js';
import { createLogger } from '../log.js';
import type { HttpLimits } from '../metrics/hardened-server.js';
import { startMetricsServer } from '../metrics/server.js';
import { wantedPool } from '../pools/selector.js';
import { SupervisorMetrics } from './metrics.js';
import type { WantedState } from './plan.js';
import { Supervisor } from './supervisor.js';

export class SuperviseExit extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export function validateForSupervise(
  cfg: MinerConfig,
  env: NodeJS.ProcessEnv,
): asserts cfg is MinerConfig & { external: NonNullable<MinerConfig['external']> } {
  if (!cfg.external) throw new ConfigError('external: required for supervise mode (the devices to drive)');
  checkAllCredentials(cfg, env);
}

/** Wanted state of one device: the fleet's pools (its own worker name), active pool, suspension. */
export function wantedFor(cfg: MinerConfig, env: NodeJS.ProcessEnv, device: string, activePool: string, suspended: boolean): WantedState {
  return {
    pools: cfg.pools.map((p) => {
      const c = resolveCredentials(cfg, p, env, device);
      return { name: p.name, url: p.url, user: c.login, password: c.password };
    }),
    activePool,
    suspended,
  };
}

export interface SuperviseOptions {
  /** Endpoint limits of the metrics/probe server (default DEFAULT_HTTP_LIMITS, the miner's). */
  httpLimits?: Partial<HttpLimits>;
}

export async function runSupervise(
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
  version = '0.1.0',
  opts: SuperviseOptions = {},
): Promise<{ stop: () => Promise<void>; port: number }> {
  let cfg: MinerConfig;
  try {
    cfg = loadConfigFile(configPath, env);
    validateForSupervise(cfg, env);
  } catch (e) {
    if (e instanceof ConfigError) throw new SuperviseExit(`config error: ${e.message}`, 2);
    throw e;
  }
  const log: Logger = createLogger(cfg.logLevel, { mode: 'supervise', fleet: cfg.fleet, namespace: cfg.namespace, pod: cfg.pod });
  const metrics = new SupervisorMetrics();
  metrics.info.set({ version, backend: 'external', kernel: 'none' }, 1);
  let runtimePool: string | undefined;
  let suspended = false;
  let runtimeRevision = -1;
  /**
   * This pod's share of the devices (runtime.json deviceAssignments): null = all of them (one
   * supervisor for the fleet), else exactly the named ones, so two pods never drive one device.
   */
  let assigned: Set<string> | null = null;
  // With a live channel, nothing is driven before its first state says which devices are ours: a
  // new pod of a sharded fleet must not touch its neighbours' devices even for a moment. The
  // operator writes that state before it creates the pods, so this costs one read.
  let runtimeSeen = !cfg.runtime;
  if (cfg.runtime) assigned = new Set();
  const ownDevices = (c: MinerConfig) => c.external!.devices.filter((d) => assigned === null || assigned.has(d.name));

  const makeSupervisor = (c: MinerConfig) => {
    const ext = c.external!;
    return new Supervisor({
      devices: ownDevices(c),
      pollIntervalMs: ext.pollIntervalSeconds * 1000,
      requestTimeoutMs: ext.requestTimeoutMs,
      maxReplyBytes: ext.maxReplyBytes,
      log,
      metrics,
      wanted: (device) => wantedFor(cfg, env, device, wantedPool({ config: cfg, runtimePool }), suspended),
    });
  };
  let supervisor = makeSupervisor(cfg);

  // The same hardened server as the CPU miner's: methods, sizes, timeouts, connection caps and a
  // per-client rate limit, so a hostile client on the pod network cannot starve the scrapes.
  const server = await startMetricsServer(
    cfg.metrics.host,
    cfg.metrics.port,
    metrics.registry,
    {
      ready: () => {
        const snaps = supervisor.snapshots();
        const up = snaps.filter((s) => s.snapshot).length;
        if (snaps.length === 0)
          return {
            ok: false,
            reason: runtimeSeen
              ? `no device assigned to this pod yet (${cfg.external!.devices.length} in the fleet)`
              : "waiting for the fleet's runtime state (which devices this pod drives)",
          };
        return up > 0
          ? { ok: true, reason: `${up}/${snaps.length} devices answering` }
          : { ok: false, reason: `no device answering (${snaps.length} configured)` };
      },
    },
    undefined,
    opts.httpLimits,
  );
  log.info({ host: cfg.metrics.host, port: server.port, devices: cfg.external.devices.length }, 'metrics server listening');
  supervisor.start();

  let runtimeSource: RuntimeSource | null = null;
  const startRuntime = async (): Promise<void> => {
    runtimeSource?.stop();
    runtimeSource = null;
    if (!cfg.runtime) return;
    runtimeSource = createRuntimeSource(
      cfg.runtime,
      log,
      (state) => {
        if (state.revision < runtimeRevision) {
          log.info({ revision: state.revision, current: runtimeRevision }, 'ignoring older runtime state');
          return;
        }
        runtimeRevision = state.revision;
        metrics.configReloads.inc({ source: 'runtime', result: 'ok' });
        // The supervisor pod is one member of the fleet: a Weighted decision assigns it (and so
        // all of its devices) a pool by pod name, like a CPU miner pod.
        const pool = poolForPod(state, cfg.pod);
        if (!cfg.pools.some((p) => p.name === pool)) {
          log.error({ activePool: pool }, `runtime activePool '${pool}' is not one of the configured pools; ignored`);
        } else runtimePool = pool;
        suspended = state.suspended ?? false;
        runtimeSeen = true;
        const nextAssigned = devicesForPod(state, cfg.pod);
        if (JSON.stringify(nextAssigned && [...nextAssigned].sort()) !== JSON.stringify(assigned && [...assigned].sort())) {
          assigned = nextAssigned;
          supervisor.setDevices(ownDevices(cfg));
          log.info(
            { devices: supervisor.deviceNames().length, of: cfg.external!.devices.length, sharded: assigned !== null },
            'devices assigned to this supervisor changed',
          );
        }
        log.info({ activePool: pool, suspended, revision: state.revision }, 'runtime state received; applying to devices');
        supervisor.kickAll();
      },
      (msg) => {
        metrics.configReloads.inc({ source: 'runtime', result: 'error' });
        log.error(msg);
      },
    );
    await runtimeSource.start();
  };
  await startRuntime();

  const watcher = new FileWatcher(configPath, 100, (text) => {
    if (text === null) return;
    try {
      const next = loadConfigText(text, env, configPath);
      validateForSupervise(next, env);
      const runtimeChanged = JSON.stringify(next.runtime) !== JSON.stringify(cfg.runtime);
      const devicesChanged = JSON.stringify(next.external) !== JSON.stringify(cfg.external);
      cfg = next;
      log.level = cfg.logLevel;
      metrics.configReloads.inc({ source: 'file', result: 'ok' });
      log.info('config reloaded');
      if (devicesChanged) {
        const old = supervisor;
        supervisor = makeSupervisor(cfg);
        void old.stop().then(() => supervisor.start());
      } else supervisor.kickAll();
      if (runtimeChanged) void startRuntime();
    } catch (e) {
      metrics.configReloads.inc({ source: 'file', result: 'error' });
      log.error({ path: configPath }, `config reload rejected, keeping the running config: ${(e as Error).message}`);
    }
  });
  await watcher.start();

  return {
    port: server.port,
    stop: async () => {
      watcher.stop();
      runtimeSource?.stop();
      await supervisor.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      log.info('stopped');
    },
  };
}
