/** Prometheus metrics of pool probing and fleet pool switches (on the operator's registry). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CIRCUIT_STATES, type CircuitState } from '../../api/v1alpha1/index.js';

export class PoolMetrics {
  readonly up: Gauge;
  readonly probeDuration: Histogram;
  readonly connectDuration: Histogram;
  readonly firstJobDuration: Histogram;
  readonly probes: Counter;
  readonly circuit: Gauge;
  readonly consecutiveFailures: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.up = new Gauge({
      name: 'minefleet_pool_up',
      help: '1 while the pool is Available (circuit Closed), else 0',
      labelNames: ['namespace', 'pool'],
      registers,
    });
    this.probeDuration = new Histogram({
      name: 'minefleet_pool_probe_duration_seconds',
      help: 'Duration of a pool probe (connect, TLS, subscribe, authorize, first job)',
      labelNames: ['namespace', 'pool'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    // The two phases of a probe, apart: the network (connect, TLS) and the pool (time to work).
    this.connectDuration = new Histogram({
      name: 'minefleet_pool_connect_duration_seconds',
      help: 'Connect time of a pool probe that connected: TCP connect, and for stratum+ssl the TLS handshake (failed probes too once connected)',
      labelNames: ['namespace', 'pool'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.firstJobDuration = new Histogram({
      name: 'minefleet_pool_first_job_duration_seconds',
      help: 'Time from the start of a successful pool probe to the first mining.notify (connect, subscribe, authorize, first job)',
      labelNames: ['namespace', 'pool'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.probes = new Counter({
      name: 'minefleet_pool_probes_total',
      help: 'Pool probes by result (ok or the failure reason)',
      labelNames: ['namespace', 'pool', 'result'],
      registers,
    });
    this.circuit = new Gauge({
      name: 'minefleet_pool_circuit_state',
      help: '1 for the current circuit breaker state of the pool',
      labelNames: ['namespace', 'pool', 'state'],
      registers,
    });
    // The breaker's count, not a rate of probes: how close a Closed pool is to failureThreshold.
    this.consecutiveFailures = new Gauge({
      name: 'minefleet_pool_consecutive_failures',
      help: 'Failed probes in a row (status.consecutiveFailures); the circuit opens at spec.probe.failureThreshold',
      labelNames: ['namespace', 'pool'],
      registers,
    });
  }

  setCircuit(namespace: string, pool: string, state: CircuitState): void {
    for (const s of CIRCUIT_STATES) this.circuit.set({ namespace, pool, state: s }, s === state ? 1 : 0);
    this.up.set({ namespace, pool }, state === 'Closed' ? 1 : 0);
  }

  setConsecutiveFailures(namespace: string, pool: string, failures: number): void {
    this.consecutiveFailures.set({ namespace, pool }, failures);
  }

  forget(namespace: string, pool: string): void {
    for (const s of CIRCUIT_STATES) this.circuit.remove({ namespace, pool, state: s });
    this.up.remove({ namespace, pool });
    this.consecutiveFailures.remove({ namespace, pool });
  }
}

const switchCounters = new WeakMap<Registry, Counter>();
/** One counter per registry, shared by every MinerFleet reconciler on it. */
export function fleetPoolSwitches(registry: Registry): Counter {
  let c = switchCounters.get(registry);
  if (!c) {
    c = new Counter({
      name: 'minefleet_fleet_pool_switches_total',
      help: 'Fleet pool decisions that moved miners, by from/to pool and reason (Failover, Failback, Rebalance)',
      labelNames: ['namespace', 'fleet', 'from', 'to', 'reason'],
      registers: [registry],
    });
    switchCounters.set(registry, c);
  }
  return c;
}
