/**
 * The miner's Prometheus metrics (prom-client, own registry). Hashrate gauges are computed from a
 * once-a-second ring of hash counts so every window (10 s, 60 s, 15 min) is exact and cheap.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CONNECTION_STATES, type ConnectionState } from '../stratum/client.js';

const WINDOWS: Array<[string, number]> = [
  ['10s', 10],
  ['60s', 60],
  ['15m', 900],
];

export class MinerMetrics {
  readonly registry = new Registry();
  readonly hashes = new Counter({ name: 'minefleet_miner_hashes_total', help: 'Scrypt hashes computed', registers: [this.registry] });
  readonly hashrate = new Gauge({
    name: 'minefleet_miner_hashrate_hashes_per_second',
    help: 'Hashrate averaged over a window',
    labelNames: ['window'],
    registers: [this.registry],
  });
  readonly threadHashrate = new Gauge({
    name: 'minefleet_miner_thread_hashrate_hashes_per_second',
    help: 'Per-thread hashrate over 10 s',
    labelNames: ['thread'],
    registers: [this.registry],
  });
  readonly shares = new Counter({
    name: 'minefleet_miner_shares_total',
    help: 'Shares by pool, result (accepted|rejected|stale) and reason',
    labelNames: ['pool', 'result', 'reason'],
    registers: [this.registry],
  });
  readonly blocks = new Counter({
    name: 'minefleet_miner_blocks_found_total',
    help: 'Block candidates found (hash met the network target) and submitted',
    labelNames: ['pool'],
    registers: [this.registry],
  });
  readonly difficulty = new Gauge({
    name: 'minefleet_miner_difficulty',
    help: 'Current Stratum share difficulty (scrypt convention)',
    labelNames: ['pool'],
    registers: [this.registry],
  });
  readonly activePool = new Gauge({
    name: 'minefleet_miner_active_pool',
    help: '1 for the pool being mined, 0 for the others',
    labelNames: ['pool'],
    registers: [this.registry],
  });
  readonly connectionState = new Gauge({
    name: 'minefleet_miner_pool_connection_state',
    help: '1 for the current connection state of the active pool',
    labelNames: ['pool', 'state'],
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: 'minefleet_miner_reconnects_total',
    help: 'Connection re-establishments by reason',
    labelNames: ['pool', 'reason'],
    registers: [this.registry],
  });
  readonly poolSwitches = new Counter({
    name: 'minefleet_miner_pool_switches_total',
    help: 'Active pool changes by cause (config|runtime|fallback)',
    labelNames: ['from', 'to', 'cause'],
    registers: [this.registry],
  });
  readonly fallbacks = new Counter({
    name: 'minefleet_miner_pool_fallbacks_total',
    help: 'Local falls to the next pool by reason (connect, tls, authorize, protocol, timeout, nowork, no_job, submit_timeout, rejected, disconnected)',
    labelNames: ['from', 'to', 'reason'],
    registers: [this.registry],
  });
  readonly localFallback = new Gauge({
    name: 'minefleet_miner_local_fallback',
    help: '1 while the miner mines on another pool than the fleet asks for (local fallback)',
    registers: [this.registry],
  });
  readonly badMessages = new Counter({
    name: 'minefleet_miner_bad_messages_total',
    help: 'Inbound Stratum lines dropped as malformed, by kind',
    labelNames: ['pool', 'kind'],
    registers: [this.registry],
  });
  readonly jobAge = new Gauge({ name: 'minefleet_miner_job_age_seconds', help: 'Age of the job being hashed', registers: [this.registry] });
  readonly configReloads = new Counter({
    name: 'minefleet_miner_config_reloads_total',
    help: 'Config / runtime reloads by source and result',
    labelNames: ['source', 'result'],
    registers: [this.registry],
  });
  readonly threads = new Gauge({ name: 'minefleet_miner_threads', help: 'Hashing threads', registers: [this.registry] });
  readonly info = new Gauge({
    name: 'minefleet_miner_info',
    help: 'Build and backend information',
    labelNames: ['version', 'backend', 'kernel'],
    registers: [this.registry],
  });

  private ring = new Float64Array(901);
  private threadRing: Float64Array[] = [];
  private pos = 0;
  private pending = 0;
  private threadPending: number[] = [];
  private timer: NodeJS.Timeout;
  jobReceivedAt: number | null = null;

  constructor(threadCount: number) {
    // Standard process_*/nodejs_* names (no prefix): the miner dashboard and any stock Node.js
    // dashboard read them as is; the pod/fleet target labels say which miner it is.
    collectDefaultMetrics({ register: this.registry });
    for (let t = 0; t < threadCount; t++) {
      this.threadRing.push(new Float64Array(11));
      this.threadPending.push(0);
      this.threadHashrate.set({ thread: String(t) }, 0);
    }
    for (const [w] of WINDOWS) this.hashrate.set({ window: w }, 0);
    this.threads.set(threadCount);
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    this.jobAge.set(0);
  }

  addHashes(thread: number, n: number): void {
    this.hashes.inc(n);
    this.pending += n;
    if (thread < this.threadPending.length) this.threadPending[thread]! += n;
  }

  private tick(): void {
    this.pos++;
    this.ring[this.pos % this.ring.length] = this.pending;
    this.pending = 0;
    for (const [w, secs] of WINDOWS) {
      let sum = 0;
      const n = Math.min(secs, this.pos);
      for (let i = 0; i < n; i++) sum += this.ring[(this.pos - i + this.ring.length) % this.ring.length]!;
      this.hashrate.set({ window: w }, n > 0 ? sum / n : 0);
    }
    this.threadRing.forEach((ring, t) => {
      ring[this.pos % ring.length] = this.threadPending[t]!;
      this.threadPending[t] = 0;
      const n = Math.min(10, this.pos);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += ring[(this.pos - i + ring.length) % ring.length]!;
      this.threadHashrate.set({ thread: String(t) }, n > 0 ? sum / n : 0);
    });
    this.jobAge.set(this.jobReceivedAt === null ? 0 : (Date.now() - this.jobReceivedAt) / 1000);
  }

  setActivePool(pools: string[], active: string): void {
    for (const p of pools) this.activePool.set({ pool: p }, p === active ? 1 : 0);
  }

  setConnectionState(pool: string, state: ConnectionState): void {
    for (const s of CONNECTION_STATES) this.connectionState.set({ pool, state: s }, s === state ? 1 : 0);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
