import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { UnfinishedWork, WorkQueueMetrics } from '../runtime/workqueue.js';

/**
 * The operator's own metrics, named exactly as controller-runtime names them so existing
 * dashboards and alerts for Go operators work unchanged.
 */
export class RuntimeMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly workqueueDepth: Gauge<'name' | 'controller' | 'priority'>;
  readonly workqueueAdds: Counter<'name' | 'controller'>;
  readonly workqueueQueueDuration: Histogram<'name' | 'controller'>;
  readonly workqueueWorkDuration: Histogram<'name' | 'controller'>;
  readonly workqueueRetries: Counter<'name' | 'controller'>;
  readonly workqueueUnfinishedWork: Gauge<'name' | 'controller'>;
  readonly workqueueLongestRunningProcessor: Gauge<'name' | 'controller'>;
  /** Queues whose in-flight work the two gauges above report, read at scrape time. */
  private readonly inFlightProbes = new Map<string, () => UnfinishedWork>();
  readonly leaderElectionStatus: Gauge<'name'>;

  constructor(
    readonly registry: Registry = new Registry(),
    opts: { defaultMetrics?: boolean } = {},
  ) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const r = [registry];
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers: r,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers: r,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8,
        9, 10, 15, 20, 25, 30, 40, 50, 60,
      ],
      registers: r,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers: r,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers: r,
    });
    const wqLabels = ['name', 'controller'] as const;
    // Names, labels, help and buckets as controller-runtime's pkg/metrics/workqueue.go. Its depth
    // carries a `priority` label (empty for a queue without priorities, which ours is).
    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue by workqueue and priority',
      labelNames: [...wqLabels, 'priority'],
      registers: r,
    });
    this.workqueueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: wqLabels, registers: r });
    const durationBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: wqLabels,
      buckets: durationBuckets,
      registers: r,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: wqLabels,
      buckets: durationBuckets,
      registers: r,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: wqLabels,
      registers: r,
    });
    // client-go refreshes these two every 500 ms from a ticker; computing them when scraped gives
    // the same values without a timer per queue.
    const probes = this.inFlightProbes;
    this.workqueueUnfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help:
        "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. " +
        'One can deduce the number of stuck threads by observing the rate at which this increases.',
      labelNames: wqLabels,
      registers: r,
      collect() {
        for (const [name, probe] of probes) this.set({ name, controller: name }, probe().totalSeconds);
      },
    });
    this.workqueueLongestRunningProcessor = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: wqLabels,
      registers: r,
      collect() {
        for (const [name, probe] of probes) this.set({ name, controller: name }, probe().longestSeconds);
      },
    });
    this.leaderElectionStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers: r,
    });
  }

  /**
   * As controller-runtime does when a controller starts: its counters exist (at 0) from then on,
   * so rate() and alerts see "no errors yet" instead of "no data".
   */
  initController(controller: string): void {
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) this.reconcileTotal.inc({ controller, result }, 0);
    this.reconcileErrors.inc({ controller }, 0);
    // client-go creates a queue's series (WithLabelValues) when the queue is made.
    const l = { name: controller, controller };
    this.workqueueAdds.inc(l, 0);
    this.workqueueRetries.inc(l, 0);
    this.workqueueDepth.set({ ...l, priority: '' }, 0);
    this.workqueueQueueDuration.zero(l);
    this.workqueueWorkDuration.zero(l);
  }

  /** Reports `probe` (a queue's in-flight work) as workqueue_unfinished_work_seconds / _longest_running_processor_seconds. */
  trackUnfinishedWork(controller: string, probe: () => UnfinishedWork): void {
    this.inFlightProbes.set(controller, probe);
  }

  /** Hooks for one controller's work queue. */
  workQueueHooks(controller: string): WorkQueueMetrics {
    const l = { name: controller, controller };
    return {
      add: () => this.workqueueAdds.inc(l),
      depth: (d) => this.workqueueDepth.set({ ...l, priority: '' }, d),
      retry: () => this.workqueueRetries.inc(l),
      queued: (s) => this.workqueueQueueDuration.observe(l, s),
      worked: (s) => this.workqueueWorkDuration.observe(l, s),
    };
  }
}
