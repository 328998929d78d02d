import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { RuntimeMetrics } from '../metrics/runtime-metrics.js';
import type { Controller } from './controller.js';
import { HealthServer } from './health.js';
import { Informer, type InformerOptions } from './informer.js';
import { LeaderElector, type LeaderElectionConfig } from './leaderelection.js';
import { KubeRest } from './rest.js';
import type { KubeObject, ResourceType } from './resource.js';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics?: RuntimeMetrics;
  /** undefined = leader election off (this instance always reconciles). */
  leaderElection?: LeaderElectionConfig;
  /** undefined = all namespaces */
  namespaces?: string[];
  probePort?: number;
  metricsPort?: number;
  /** interface the health/metrics servers bind (default 0.0.0.0) */
  bindHost?: string;
  resyncPeriodMs?: number;
}

/**
 * Owns the shared informers, the health/metrics endpoints, leader election and the controllers.
 * start(): informers first (standbys keep warm caches), then — once leading — the controllers.
 * Losing the lease stops everything (like controller-runtime, the process should then exit and
 * restart as a standby rather than risk two leaders).
 */
export class Manager {
  readonly rest: KubeRest;
  readonly metrics: RuntimeMetrics;
  readonly health: HealthServer;
  private readonly informers: Informer<any>[] = [];
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private stopping: Promise<void> | undefined;
  private started = false;
  private leading = false;
  private stopRequested: (() => void) | undefined;

  constructor(readonly opts: ManagerOptions) {
    this.rest = new KubeRest(opts.kubeConfig);
    this.metrics = opts.metrics ?? new RuntimeMetrics();
    this.health = new HealthServer(
      {
        healthz: { ping: () => true },
        readyz: { informers: () => this.informers.every((i) => i.hasSynced()) || 'informer caches not synced' },
      },
      this.metrics.registry,
    );
  }

  get isLeader(): boolean {
    return this.leading;
  }

  informer<T extends KubeObject>(
    resource: ResourceType,
    options: Omit<InformerOptions<T>, 'logger' | 'namespaces'> & { allNamespaces?: boolean } = {},
  ): Informer<T> {
    const inf = new Informer<T>(this.rest, this.opts.kubeConfig, resource, {
      resyncPeriodMs: this.opts.resyncPeriodMs,
      ...options,
      namespaces: options.allNamespaces ? undefined : this.opts.namespaces,
      logger: this.opts.logger,
    });
    this.informers.push(inf);
    if (this.started) inf.start();
    return inf;
  }

  add(controller: Controller): void {
    this.controllers.push(controller);
    if (this.leading) controller.start();
  }

  /**
   * Runs until stop() is called or the lease is lost. Resolves with why it ended.
   */
  async start(): Promise<'stopped' | 'lost-leadership'> {
    this.started = true;
    const log = this.opts.logger;
    await this.health.start({ probePort: this.opts.probePort ?? 8081, metricsPort: this.opts.metricsPort ?? 8080, host: this.opts.bindHost });
    log.info({ probePort: this.health.ports.probe, metricsPort: this.health.ports.metrics }, 'health and metrics endpoints listening');
    for (const i of this.informers) i.start();
    const stopped = new Promise<'stopped'>((resolve) => (this.stopRequested = () => resolve('stopped')));
    const synced = Promise.all(this.informers.map((i) => i.waitForSync()));
    if ((await Promise.race([synced.then(() => 'synced' as const), stopped])) === 'stopped') return 'stopped';
    log.info('informer caches synced');

    if (this.opts.leaderElection) {
      const name = this.opts.leaderElection.leaseName;
      this.metrics.leaderElectionStatus.set({ name }, 0);
      this.elector = new LeaderElector(this.rest, this.opts.leaderElection, log, (v) => this.metrics.leaderElectionStatus.set({ name }, v ? 1 : 0));
      if (!(await this.elector.acquire())) return 'stopped';
      this.becomeLeader();
      const outcome = await Promise.race([this.elector.holdLeadership(), stopped]);
      if (outcome === 'lost') {
        await this.shutdown();
        return 'lost-leadership';
      }
      return 'stopped';
    }
    this.becomeLeader();
    return stopped;
  }

  private becomeLeader(): void {
    this.leading = true;
    this.opts.logger.info({ controllers: this.controllers.length }, 'leading: starting controllers');
    for (const c of this.controllers) c.start();
  }

  /** Graceful: stop handing out work, wait for in-flight reconciles, release the lease, stop watches. */
  stop(): Promise<void> {
    this.stopRequested?.();
    return this.shutdown();
  }

  private shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      const log = this.opts.logger;
      log.info('shutting down: draining controllers');
      this.leading = false;
      await Promise.all(this.controllers.map((c) => c.stop()));
      await this.elector?.stop();
      for (const i of this.informers) i.stop();
      await this.health.stop();
      log.info('shut down');
    })();
    return this.stopping;
  }
}
