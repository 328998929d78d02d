import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { OperatorConfig } from '../config/config.js';
import { MinerFleets } from '../controllers/minerfleet/controller.js';
import { DEFAULT_METRICS_PORT } from '../controllers/minerfleet/desired/miner-config.js';
import type { Manager } from '../runtime/manager.js';
import { HistoryStore, NOOP_AUDIT_SINK, StoreAuditSink, redactUri, storeReadiness, type AuditSink } from '../store/index.js';
import { leadershipAuditRecord } from '../store/leadership-audit.js';
import { Collector, type FleetView } from './collector.js';
import { MINER_POD_SELECTOR, minerPodTransform, Pods, type MinerPod } from './pods.js';
import { trimUserObject } from '../runtime/transform.js';

export interface History {
  store: HistoryStore | undefined;
  /** Hand this to controllers: every decision goes to the `events` collection. */
  audit: AuditSink;
  collector: Collector;
  stop(): Promise<void>;
}

/** The MongoDB URI from the flag/env (a Secret via secretKeyRef) or a mounted Secret file; undefined = no history. */
export async function historyUri(config: OperatorConfig): Promise<string | undefined> {
  if (config.historyMongodbUri) return config.historyMongodbUri;
  if (!config.historyMongodbUriFile) return undefined;
  let text: string;
  try {
    text = await readFile(config.historyMongodbUriFile, 'utf8');
  } catch (err) {
    throw new Error(`--history-mongodb-uri-file ${config.historyMongodbUriFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: err,
    });
  }
  const uri = text.trim();
  if (!uri.startsWith('mongodb://') && !uri.startsWith('mongodb+srv://'))
    throw new Error(
      `--history-mongodb-uri-file ${config.historyMongodbUriFile}: the file does not hold a mongodb:// or mongodb+srv:// URI (content not shown)`,
    );
  return uri;
}

/**
 * Wires the history: the store (migrations at connect; buffering while MongoDB is down), the
 * audit sink, a trimmed pod informer and a trimmed fleet informer, the collector (leader only),
 * and a /readyz detail line for the store. Without a URI the collector still fills fleet status.
 */
export async function setupHistory(mgr: Manager, config: OperatorConfig, log: Logger): Promise<History> {
  const uri = await historyUri(config);
  let store: HistoryStore | undefined;
  if (uri) {
    store = await HistoryStore.connect(
      { uri, dbName: config.historyDb, buffer: { spillDir: config.historySpillDir } },
      { registry: mgr.metrics.registry, logger: log },
    );
    log.info({ uri: redactUri(uri), db: config.historyDb, available: store.available }, 'history store configured');
    const s = store;
    mgr.health.addReadyz('history-store', () => storeReadiness(s));
  } else {
    log.warn('no MongoDB URI (--history-mongodb-uri / --history-mongodb-uri-file): history is not stored; fleet status still gets hashrate and shares');
  }
  const audit: AuditSink = store ? new StoreAuditSink(store, { actor: config.identity, logger: log }) : NOOP_AUDIT_SINK;
  const leaseNamespace = config.leaseNamespace ?? config.watchNamespaces?.[0] ?? 'default';
  mgr.onLeadershipChange((c) => audit.record(leadershipAuditRecord(c, leaseNamespace)));
  const pods = mgr.informer<MinerPod>(Pods, {
    labelSelector: MINER_POD_SELECTOR,
    transform: minerPodTransform as unknown as (o: MinerPod) => MinerPod,
    resyncPeriodMs: 0,
  });
  // The fleet cache is shared with the MinerFleet controller (one cache per type): the collector
  // reads only the FleetView fields of the full objects.
  const fleets = mgr.informer<FleetView>(MinerFleets, { transform: trimUserObject });
  let stateFile: string | undefined = path.join(config.historySpillDir, 'collector-state.json');
  try {
    await mkdir(config.historySpillDir, { recursive: true });
  } catch (err) {
    log.warn({ dir: config.historySpillDir, err }, 'collector: spill directory unusable; collector state is not kept across restarts');
    stateFile = undefined;
  }
  const collector = new Collector({
    rest: mgr.rest,
    pods,
    fleets,
    fleetResource: MinerFleets,
    store,
    registry: mgr.metrics.registry,
    logger: log.child({ controller: 'collector' }),
    intervalMs: config.collectorIntervalSeconds * 1000,
    windowSeconds: config.collectorWindowSeconds,
    concurrency: config.collectorConcurrency,
    timeoutMs: config.collectorTimeoutSeconds * 1000,
    defaultMetricsPort: DEFAULT_METRICS_PORT,
    isLeader: () => mgr.isLeader,
    signal: mgr.leadershipSignal,
    ...(stateFile ? { stateFile } : {}),
  });
  await collector.restore();
  collector.start();
  return {
    store,
    audit,
    collector,
    stop: async () => {
      await collector.stop();
      if (audit instanceof StoreAuditSink) await audit.drain();
      await store?.close();
    },
  };
}
