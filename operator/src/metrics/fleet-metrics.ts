import { Gauge, type Registry } from 'prom-client';

/** Replica counts of one fleet, as its owned Deployment reports them. */
export interface FleetReplicas {
  desired: number;
  ready: number;
}

/**
 * Per-fleet replica gauges (`minefleet_fleet_desired_replicas`, `minefleet_fleet_ready_replicas`,
 * labels namespace/fleet), set by the MinerFleet controller on every reconcile. They carry the
 * operator's view so the farm dashboard and the MinersNotReady alert work without
 * kube-state-metrics, and the labels are the fleet's, not the Deployment's.
 */
export class FleetReplicaMetrics {
  private readonly desired: Gauge<'namespace' | 'fleet'>;
  private readonly ready: Gauge<'namespace' | 'fleet'>;

  constructor(registry: Registry) {
    const r = [registry];
    this.desired = new Gauge({
      name: 'minefleet_fleet_desired_replicas',
      help: 'Miner pods the fleet should run now (0 while paused or suspended), from its Deployment',
      labelNames: ['namespace', 'fleet'],
      registers: r,
    });
    this.ready = new Gauge({
      name: 'minefleet_fleet_ready_replicas',
      help: 'Ready miner pods of the fleet, from its Deployment status',
      labelNames: ['namespace', 'fleet'],
      registers: r,
    });
  }

  set(namespace: string, fleet: string, r: FleetReplicas): void {
    this.desired.set({ namespace, fleet }, r.desired);
    this.ready.set({ namespace, fleet }, r.ready);
  }

  /** The fleet is gone: drop its series (a deleted fleet is not a fleet with 0 ready miners). */
  forget(namespace: string, fleet: string): void {
    this.desired.remove({ namespace, fleet });
    this.ready.remove({ namespace, fleet });
  }
}
