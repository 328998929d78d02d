import { KubeConfig } from '@kubernetes/client-node';
import { loadConfig, usage, type OperatorConfig } from './config/config.js';
import { setupHistory } from './collector/setup.js';
import { setupMinerFleetController } from './controllers/minerfleet/controller.js';
import { setupMiningPoolController } from './controllers/miningpool/controller.js';

import { createLogger } from './log.js';
import { Manager } from './runtime/manager.js';

const PROBE_CONCURRENCY = 64;
/** After a lost lease: how long cleanup (drain, history flush) may take before the process exits anyway. */
const LOST_LEADERSHIP_EXIT_GRACE_MS = 5000;

/**
 * minefleet operator entry point: `node dist/operator/minefleet-operator.mjs [--flags]`.
 * Uses KUBECONFIG when set, otherwise the in-cluster service account.
 */
async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  let config: OperatorConfig;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger(config.logLevel);
  const kc = new KubeConfig();
  try {
    if (process.env.KUBECONFIG) kc.loadFromFile(process.env.KUBECONFIG);
    else kc.loadFromCluster();
    if (!kc.getCurrentCluster()) throw new Error('no current cluster in the kubeconfig');
  } catch (err) {
    log.fatal({ err }, 'cannot load Kubernetes client configuration (set KUBECONFIG or run in a pod)');
    return 2;
  }
  const leaseNamespace = config.leaseNamespace ?? config.watchNamespaces?.[0] ?? 'default';
  const mgr = new Manager({
    kubeConfig: kc,
    logger: log,
    namespaces: config.watchNamespaces,
    probePort: config.probePort,
    metricsPort: config.metricsPort,
    bindHost: config.bindAddress,
    resyncPeriodMs: config.resyncPeriodSeconds * 1000,
    leaderElection: config.leaderElect
      ? {
          leaseName: config.leaseName,
          leaseNamespace,
          identity: config.identity,
          leaseDurationMs: config.leaseDurationSeconds * 1000,
          renewDeadlineMs: config.renewDeadlineSeconds * 1000,
          retryPeriodMs: config.retryPeriodSeconds * 1000,
          releaseOnCancel: true,
        }
      : undefined,
  });
  let history: Awaited<ReturnType<typeof setupHistory>>;
  try {
    history = await setupHistory(mgr, config, log);
  } catch (err) {
    log.fatal({ err }, 'history configuration failed');
    return 2;
  }
  setupMinerFleetController(
    mgr,
    {
      minerImage: config.minerImage,
      minerImagePullPolicy: config.minerImagePullPolicy,
      concurrency: config.concurrency,
      economics: { audit: history.audit },
      audit: history.audit,
      tlsPolicy: { requireTls: config.requireTls },
      networkPolicy: {
        // The operator's own namespace: its pods are the ones admitted, not look-alikes elsewhere.
        operatorPods: { namespace: process.env.POD_NAMESPACE || undefined, labels: config.operatorPodSelector },
        prometheus: {
          podSelector: config.prometheusPodSelector,
          ...(Object.keys(config.prometheusNamespaceSelector).length ? { namespaceSelector: config.prometheusNamespaceSelector } : {}),
        },
      },
    },
    log,
  );
  // Probes wait on the network, not the CPU: many in flight, bounded (500 pools every 10 s fit).
  setupMiningPoolController(mgr, { concurrency: PROBE_CONCURRENCY, audit: history.audit, tlsPolicy: { requireTls: config.requireTls } }, log);

  // Like controller-runtime (which exits when the lease is lost): the process ends and the kubelet
  // starts a fresh standby. Cleanup gets a bounded grace, so a drain or flush that hangs cannot keep
  // a former leader around.
  mgr.onLeadershipChange((c) => {
    if (c.reason !== 'LeaderLost') return;
    log.error({ lease: c.lease, exitGraceMs: LOST_LEADERSHIP_EXIT_GRACE_MS }, 'leader lease lost; exiting so a fresh process rejoins as a standby');
    setTimeout(() => {
      log.error({ exitGraceMs: LOST_LEADERSHIP_EXIT_GRACE_MS }, 'cleanup after losing the lease did not finish in time; exiting now');
      process.exit(1);
    }, LOST_LEADERSHIP_EXIT_GRACE_MS).unref();
  });

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal: sig }, 'signal received: stopping (release lease, drain reconciles)');
    void mgr.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info(
    {
      identity: config.identity,
      namespaces: config.watchNamespaces ?? 'all',
      leaderElection: config.leaderElect ? `${leaseNamespace}/${config.leaseName}` : 'off',
      concurrency: config.concurrency,
    },
    'minefleet operator starting',
  );
  try {
    const outcome = await mgr.start();
    await mgr.stop();
    await history.stop();
    if (outcome === 'lost-leadership') return 1;
    return 0;
  } catch (err) {
    log.fatal({ err }, 'operator failed');
    await mgr.stop().catch(() => undefined);
    await history.stop().catch(() => undefined);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
