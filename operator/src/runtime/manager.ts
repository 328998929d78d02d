import { setMaxListeners } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { RuntimeMetrics } from '../metrics/runtime-metrics.js';
import type { Controller } from './controller.js';
import { HealthServer } from './health.js';
import { Informer, type InformerOptions } from './informer.js';
import { kubeLeaseClient, LeaderElector, type LeaderElectionConfig } from './leaderelection.js';
import { KubeRest } from './rest.js';
import type { KubeObject, ResourceType } from './resource.js';

/** In-flight requests bound to the leadership signal, far above what the concurrency settings allow. */
const LEADERSHIP_SIGNAL_MAX_LISTENERS = 10_000;

export type SharedInformerOptions<T> = Omit<InformerOptions<T>, 'logger' | 'namespaces'> & { allNamespaces?: boolean };

function resourceKey(rt: ResourceType): string {
  return `${rt.apiVersion}/${rt.kind}`;
}

/**
 * This instance started or stopped leading. Elected: it acquired the lease (previousHolder: from
 * whom it took over, when the lease was still held by another instance). Lost: renewal failed past
 * the renew deadline. Released: a graceful stop gave the lease up (Stopped: without releasing it,
 * so standbys wait for it to expire). WithoutElection: leader election is off, so this instance
 * leads from the start.
 */
export interface LeadershipChange {
  leading: boolean;
  reason: 'LeaderElected' | 'LeaderLost' | 'LeaderReleased' | 'LeaderStopped' | 'LeadingWithoutElection';
  identity?: string;
  lease?: { namespace: string; name: string; transitions: number };
  previousHolder?: string;
  time: Date;
}

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
  /** /healthz fails once the lease has not been renewed for renewDeadline + this (default 2 s). */
  leaderHealthSlackMs?: number;
}

/**
 * Owns the shared informers, the health/metrics endpoints, leader election and the controllers.
 * start(): informers first (standbys keep warm caches), then — once leading — the controllers.
 * Losing the lease stops everything (like controller-runtime, the process should then exit and
 * restart as a standby rather than risk two leaders).
 */
export class Manager {
  /**
   * The client controllers use: bound to the leadership signal, so once this instance stops
   * leading (lease lost, renew deadline passed) none of their requests is sent any more.
   */
  readonly rest: KubeRest;
  /** Not bound to leadership: informers (standbys keep warm caches) and leader election. */
  readonly baseRest: KubeRest;
  private readonly leadership = new AbortController();
  readonly metrics: RuntimeMetrics;
  readonly health: HealthServer;
  private readonly informers = new Map<string, { informer: Informer<KubeObject>; shape: SharedInformerOptions<KubeObject> }>();
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private stopping: Promise<void> | undefined;
  private started = false;
  private leading = false;
  private lostLeadership = false;
  private stopRequested: (() => void) | undefined;
  private readonly leadershipListeners: Array<(c: LeadershipChange) => void> = [];

  constructor(readonly opts: ManagerOptions) {
    // Every request of every controller and of the collector (64 scrapes in flight) listens on
    // this one signal while it runs: Node's default of 10 listeners would warn of a leak that is
    // not one. A real leak (listeners never removed) still warns past this bound.
    setMaxListeners(LEADERSHIP_SIGNAL_MAX_LISTENERS, this.leadership.signal);
    this.baseRest = new KubeRest(opts.kubeConfig);
    this.rest = this.baseRest.withSignal(this.leadership.signal);
    this.metrics = opts.metrics ?? new RuntimeMetrics();
    this.health = new HealthServer(
      {
        healthz: {
          ping: () => true,
          // A lost lease ends this process's usefulness (it stops acting); failing liveness gets it restarted as a standby.
          leaderElection: () => (this.lostLeadership ? 'leader lease lost' : (this.elector?.renewalHealthy(this.opts.leaderHealthSlackMs ?? 2000) ?? true)),
        },
        readyz: { informers: () => this.allInformers.every((i) => i.hasSynced()) || 'informer caches not synced' },
      },
      this.metrics.registry,
    );
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Called on every leadership change of this instance (audit trail); listeners must not throw. */
  onLeadershipChange(listener: (c: LeadershipChange) => void): void {
    this.leadershipListeners.push(listener);
  }

  private emitLeadership(leading: boolean, reason: LeadershipChange['reason']): void {
    const le = this.opts.leaderElection;
    const c: LeadershipChange = { leading, reason, time: new Date() };
    if (le) {
      c.identity = le.identity;
      c.lease = { namespace: le.leaseNamespace, name: le.leaseName, transitions: this.elector?.leaseTransitions ?? 0 };
      if (reason === 'LeaderElected' && this.elector?.previousHolder) c.previousHolder = this.elector.previousHolder;
    }
    for (const l of this.leadershipListeners) {
      try {
        l(c);
      } catch (err) {
        this.opts.logger.error({ err }, 'leadership listener failed');
      }
    }
  }

  /** The elector once leader election started (undefined without leader election). */
  get leaderElector(): LeaderElector | undefined {
    return this.elector;
  }

  /**
   * The shared informer of a resource type: one cache per type, as controller-runtime's cache.
   * A second call for the same type (another controller) returns the same informer and adds its
   * indexers to the shared cache. What shapes the cache itself (selectors, transform, scope, page
   * size) is fixed by the first call; a later call that asks for a different shape is an error,
   * since it would silently get objects it did not ask for (e.g. Secrets without their values).
   */
  informer<T extends KubeObject>(resource: ResourceType, options: SharedInformerOptions<T> = {}): Informer<T> {
    const key = resourceKey(resource);
    const existing = this.informers.get(key);
    if (existing) {
      const first = existing.shape;
      for (const field of ['labelSelector', 'fieldSelector', 'transform', 'allNamespaces', 'pageSize'] as const) {
        if (first[field] !== options[field]) {
          throw new Error(
            `shared ${resource.kind} informer: ${field} differs from the first registration; one cache per type means one ${field} per type (share the same value, e.g. an exported transform function)`,
          );
        }
      }
      const inf = existing.informer as unknown as Informer<T>;
      if (options.indexers) inf.addIndexers(options.indexers);
      return inf;
    }
    const inf = new Informer<T>(this.baseRest, this.opts.kubeConfig, resource, {
      resyncPeriodMs: this.opts.resyncPeriodMs,
      ...options,
      namespaces: options.allNamespaces ? undefined : this.opts.namespaces,
      logger: this.opts.logger,
    });
    this.informers.set(key, { informer: inf as unknown as Informer<KubeObject>, shape: options as SharedInformerOptions<KubeObject> });
    if (this.started) inf.start();
    return inf;
  }

  /** The informers (one per resource type) this manager runs. */
  get allInformers(): Informer<KubeObject>[] {
    return [...this.informers.values()].map((e) => e.informer);
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
    for (const i of this.allInformers) i.start();
    const stopped = new Promise<'stopped'>((resolve) => (this.stopRequested = () => resolve('stopped')));
    const synced = Promise.all(this.allInformers.map((i) => i.waitForSync()));
    if ((await Promise.race([synced.then(() => 'synced' as const), stopped])) === 'stopped') return 'stopped';
    log.info('informer caches synced');

    if (this.opts.leaderElection) {
      const name = this.opts.leaderElection.leaseName;
      this.metrics.leaderElectionStatus.set({ name }, 0);
      const le = this.opts.leaderElection;
      this.elector = new LeaderElector(kubeLeaseClient(this.baseRest, le.leaseNamespace, le.leaseName), le, log, (v) =>
        this.metrics.leaderElectionStatus.set({ name }, v ? 1 : 0),
      );
      if (!(await this.elector.acquire())) return 'stopped';
      this.becomeLeader();
      this.emitLeadership(true, 'LeaderElected');
      const outcome = await Promise.race([this.elector.holdLeadership(), stopped]);
      if (outcome === 'lost') {
        this.lostLeadership = true;
        this.stopActing(new Error('leader lease lost: renew deadline passed'));
        // Refuse probes from now on, not after the drain: this instance is done (it must not
        // look alive while it winds down), and the kubelet restarts it as a standby.
        await this.health.stop();
        this.emitLeadership(false, 'LeaderLost');
        await this.shutdown();
        return 'lost-leadership';
      }
      return 'stopped';
    }
    this.becomeLeader();
    this.emitLeadership(true, 'LeadingWithoutElection');
    return stopped;
  }

  /** Signal fired when this instance stops leading; requests of `rest` are cut by it. */
  get leadershipSignal(): AbortSignal {
    return this.leadership.signal;
  }

  /** Stops acting at once: no request of `rest` is sent after this, in-flight reconciles are cancelled. */
  private stopActing(reason: Error): void {
    this.leading = false;
    this.leadership.abort(reason);
    for (const c of this.controllers) c.cancel(reason);
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
      const wasLeading = this.elector?.isLeader ?? false;
      const released = (await this.elector?.stop()) ?? false;
      if (wasLeading) this.emitLeadership(false, released ? 'LeaderReleased' : 'LeaderStopped');
      for (const i of this.allInformers) i.stop();
      await this.health.stop();
      log.info('shut down');
    })();
    return this.stopping;
  }
}
