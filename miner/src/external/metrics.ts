/**
 * Metrics of `miner supervise`: the CPU miner's `minefleet_miner_*` names with a `device` label,
 * plus what devices report about themselves (temperatures, fans, chain rates, hardware errors,
 * power). Device counters are cumulative on the device; they become Prometheus counters by
 * adding deltas, and a device restart (its Elapsed or a counter going down) counts from zero
 * again. A device seen for the first time counts what it did before only when it started after
 * this process did (all of it happened while we watched); an older device's counts date from
 * before (a previous supervisor already exported them, or nobody was watching): they only set the
 * baseline, so a supervisor restart never counts the same shares twice.
 *
 * Pool gauges (difficulty, connection state) use the CPU miner's names, labels and encoding
 * plus `device`. A device that does not report a field gets no series for it (never a made-up
 * 0), and a device that stops answering loses its pool gauges (what it does now is unknown;
 * minefleet_miner_device_up says so).
 *
 * CPU-miner metrics a supervisor does not export, and why:
 * - thread_hashrate, threads: a device has no hashing threads of ours (its hash boards are
 *   minefleet_miner_device_chain_hashrate_hashes_per_second).
 * - job_age_seconds: the cgminer API says when the last share went out ("Last Share Time"),
 *   not when the job being hashed arrived; "Getworks" counts differently across forks.
 * - bad_messages_total: the device parses its Stratum traffic; the API does not report drops.
 * Windows differ: 5s/60s/av (what devices report) instead of 10s/60s/15m; the collector reads
 * 5s as the short window.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CONNECTION_STATES } from '../stratum/client.js';
import { devicePoolState } from './pool-state.js';
import type { DeviceSnapshot } from './snapshot.js';

export class SupervisorMetrics {
  readonly registry = new Registry();
  private readonly r = [this.registry];
  readonly hashes = new Counter({
    name: 'minefleet_miner_hashes_total',
    help: 'Hashes done by the device (its summary "Total MH", else "MHS av" x "Elapsed", else the 5 s rate integrated over polls)',
    labelNames: ['device'],
    registers: this.r,
  });
  readonly hashrate = new Gauge({
    name: 'minefleet_miner_hashrate_hashes_per_second',
    help: 'Hashrate in H/s (device-reported, unit-normalised; window 5s, 60s, av)',
    labelNames: ['device', 'window'],
    registers: this.r,
  });
  readonly shares = new Counter({
    name: 'minefleet_miner_shares_total',
    help: 'Shares by device, pool and result, as counted by the device',
    labelNames: ['device', 'pool', 'result', 'reason'],
    registers: this.r,
  });
  readonly activePool = new Gauge({
    name: 'minefleet_miner_active_pool',
    help: "1 for the pool the device mines on, 0 for the fleet's other pools",
    labelNames: ['device', 'pool'],
    registers: this.r,
  });
  readonly blocks = new Counter({
    name: 'minefleet_miner_blocks_found_total',
    help: 'Block candidates found by the device (growth of its summary "Found Blocks"), by the pool it mined on when seen',
    labelNames: ['device', 'pool'],
    registers: this.r,
  });
  readonly fallbacks = new Counter({
    name: 'minefleet_miner_pool_fallbacks_total',
    help: "The device's own falls to another pool (it left the pool the fleet wants without being told), reason device",
    labelNames: ['device', 'from', 'to', 'reason'],
    registers: this.r,
  });
  readonly localFallback = new Gauge({
    name: 'minefleet_miner_local_fallback',
    help: 'Per device: 1 while it mines on another pool than the fleet asks for',
    labelNames: ['device'],
    registers: this.r,
  });
  readonly difficulty = new Gauge({
    name: 'minefleet_miner_difficulty',
    help: 'Current Stratum share difficulty (scrypt convention) per device and pool, as the device reports it ("Stratum Difficulty", else "Work Difficulty", else "Last Share Difficulty")',
    labelNames: ['device', 'pool'],
    registers: this.r,
  });
  readonly connectionState = new Gauge({
    name: 'minefleet_miner_pool_connection_state',
    help: "1 for the current connection state of the device's pool (from its pools Status and Stratum Active: authorized, connecting, disconnected, stopped)",
    labelNames: ['device', 'pool', 'state'],
    registers: this.r,
  });
  readonly reconnects = new Counter({
    name: 'minefleet_miner_reconnects_total',
    help: 'Connection re-establishments by reason; for a device: the growth of its pools "Get Failures" (interrupted connections), reason get_failures',
    labelNames: ['device', 'pool', 'reason'],
    registers: this.r,
  });
  readonly poolSwitches = new Counter({
    name: 'minefleet_miner_pool_switches_total',
    help: 'Active pool changes seen on the device by cause (runtime: the supervisor switched it; device: its own failover)',
    labelNames: ['device', 'from', 'to', 'cause'],
    registers: this.r,
  });
  readonly up = new Gauge({
    name: 'minefleet_miner_device_up',
    help: '1 when the device API answered the last poll',
    labelNames: ['device', 'model'],
    registers: this.r,
  });
  readonly suspended = new Gauge({
    name: 'minefleet_miner_device_suspended',
    help: '1 when every hashing unit of the device is disabled',
    labelNames: ['device'],
    registers: this.r,
  });
  readonly temperature = new Gauge({
    name: 'minefleet_miner_device_temperature_celsius',
    help: 'Device temperature sensors',
    labelNames: ['device', 'sensor'],
    registers: this.r,
  });
  readonly fan = new Gauge({ name: 'minefleet_miner_device_fan_rpm', help: 'Device fan speeds', labelNames: ['device', 'fan'], registers: this.r });
  readonly chainRate = new Gauge({
    name: 'minefleet_miner_device_chain_hashrate_hashes_per_second',
    help: 'Per hash-board (chain) rate in H/s',
    labelNames: ['device', 'chain'],
    registers: this.r,
  });
  readonly hwErrors = new Counter({
    name: 'minefleet_miner_device_hardware_errors_total',
    help: 'Hardware errors reported by the device',
    labelNames: ['device'],
    registers: this.r,
  });
  readonly power = new Gauge({
    name: 'minefleet_miner_device_power_watts',
    help: 'Power draw reported by the device',
    labelNames: ['device'],
    registers: this.r,
  });
  readonly apiErrors = new Counter({
    name: 'minefleet_miner_device_api_errors_total',
    help: 'Failed device API requests by kind (timeout, connect, malformed, truncated, too_large, status)',
    labelNames: ['device', 'kind'],
    registers: this.r,
  });
  readonly actions = new Counter({
    name: 'minefleet_miner_device_actions_total',
    help: 'Privileged commands sent to devices, by command and result',
    labelNames: ['device', 'command', 'result'],
    registers: this.r,
  });
  readonly pollSeconds = new Gauge({
    name: 'minefleet_miner_device_poll_duration_seconds',
    help: 'Duration of the last poll and reconcile of the device',
    labelNames: ['device'],
    registers: this.r,
  });
  readonly configReloads = new Counter({
    name: 'minefleet_miner_config_reloads_total',
    help: 'Config / runtime reloads by source and result',
    labelNames: ['source', 'result'],
    registers: this.r,
  });
  readonly info = new Gauge({
    name: 'minefleet_miner_info',
    help: 'Build and backend information',
    labelNames: ['version', 'backend', 'kernel'],
    registers: this.r,
  });

  private last = new Map<string, number>();
  private samples = new Map<string, Array<[number, number]>>();
  /** Per device: its Elapsed and the time of the last poll (restart detection, rate integration). */
  private seen = new Map<string, { elapsed: number | undefined; at: number }>();
  private readonly startedAt: number;
  /** Per device: the pool label sets of its difficulty and connection-state series now exported. */
  private poolSeries = new Map<string, { difficulty: Set<string>; connection: string | undefined }>();

  constructor(now = Date.now()) {
    this.startedAt = now;
    // Standard process_*/nodejs_* names, as the miner (miner/src/metrics/metrics.ts).
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * Add the growth of a device's cumulative counter. `mode`: 'baseline' (first sight of an older
   * device: remember, count nothing), 'reset' (the device restarted: the value is all new).
   */
  private grow(key: string, value: number, inc: (d: number) => void, mode: 'normal' | 'baseline' | 'reset'): void {
    const prev = this.last.get(key);
    this.last.set(key, value);
    if (mode === 'baseline') return;
    const delta = prev === undefined || mode === 'reset' || value < prev ? value : value - prev;
    if (delta > 0) inc(delta);
  }

  record(device: string, snap: DeviceSnapshot, poolName: (url: string, user: string) => string, fleetPools: string[], now = Date.now()): void {
    this.up.set({ device, model: snap.model.id }, 1);
    const before = this.seen.get(device);
    this.seen.set(device, { elapsed: snap.elapsedSeconds, at: now });
    const uptime = (now - this.startedAt) / 1000;
    // Elapsed is whole seconds and read a moment after the poll began: a few seconds of slack.
    const mode: 'normal' | 'baseline' | 'reset' = !before
      ? snap.elapsedSeconds !== undefined && snap.elapsedSeconds <= uptime + 5
        ? 'reset'
        : 'baseline'
      : before.elapsed !== undefined && snap.elapsedSeconds !== undefined && snap.elapsedSeconds < before.elapsed
        ? 'reset'
        : 'normal';
    this.hashes.inc({ device }, 0); // the series exists from the first answer, whatever follows
    if (snap.totalHashes !== undefined) this.grow(`${device}|hashes`, snap.totalHashes, (d) => this.hashes.inc({ device }, d), mode);
    else if (before) this.hashes.inc({ device }, Math.max(0, snap.rate5s) * Math.max(0, (now - before.at) / 1000)); // no counter on the device
    const xs = (this.samples.get(device) ?? []).filter(([t]) => now - t <= 60_000);
    xs.push([now, snap.rate5s]);
    this.samples.set(device, xs);
    this.hashrate.set({ device, window: '5s' }, snap.rate5s);
    this.hashrate.set({ device, window: '60s' }, xs.reduce((s, [, v]) => s + v, 0) / xs.length);
    this.hashrate.set({ device, window: 'av' }, snap.rateAv);
    for (const p of snap.pools) {
      const pool = poolName(p.url, p.user);
      this.grow(`${device}|${p.url}|${p.user}|a`, p.accepted, (d) => this.shares.inc({ device, pool, result: 'accepted', reason: '' }, d), mode);
      this.grow(`${device}|${p.url}|${p.user}|r`, p.rejected, (d) => this.shares.inc({ device, pool, result: 'rejected', reason: 'device' }, d), mode);
      this.grow(`${device}|${p.url}|${p.user}|s`, p.stale, (d) => this.shares.inc({ device, pool, result: 'stale', reason: 'device' }, d), mode);
    }
    const active = snap.pools.find((p) => p.active);
    const activeName = active ? poolName(active.url, active.user) : '';
    for (const name of new Set([...fleetPools, ...(activeName ? [activeName] : [])])) this.activePool.set({ device, pool: name }, name === activeName ? 1 : 0);
    this.recordPools(device, snap, poolName, activeName, mode);
    // ASC, PGA and GPU units alike: suspension disables each of them (gpudisable for GPUs).
    this.suspended.set({ device }, snap.units.length > 0 && snap.units.every((u) => !u.enabled) ? 1 : 0);
    for (const t of snap.temperatures) this.temperature.set({ device, sensor: t.sensor }, t.celsius);
    for (const f of snap.fans) this.fan.set({ device, fan: f.fan }, f.rpm);
    for (const c of snap.chains) this.chainRate.set({ device, chain: c.chain }, c.rate);
    this.grow(`${device}|hw`, snap.hardwareErrors, (d) => this.hwErrors.inc({ device }, d), mode);
    if (snap.foundBlocks !== undefined)
      this.grow(`${device}|blocks`, snap.foundBlocks, (d) => this.blocks.inc({ device, pool: activeName || 'none' }, d), mode);
    if (snap.powerWatts !== undefined) this.power.set({ device }, snap.powerWatts);
  }

  /**
   * The device is no longer driven here (another supervisor pod took it over): every series with
   * its `device` label goes, and so do the counter baselines, so the pod that drives it now is
   * the only one exporting it. Generic over the registry, so a metric added later is covered.
   */
  async forget(device: string): Promise<void> {
    for (const k of [...this.last.keys()]) if (k.startsWith(`${device}|`)) this.last.delete(k);
    this.samples.delete(device);
    this.seen.delete(device);
    this.poolSeries.delete(device);
    for (const m of this.registry.getMetricsAsArray()) {
      const metric = m as unknown as {
        get(): Promise<{ values: Array<{ labels: Record<string, string | number> }> }>;
        remove(labels: Record<string, string | number>): void;
      };
      const { values } = await metric.get();
      for (const v of values) {
        if (v.labels.device !== device) continue;
        // Histogram buckets and summary quantiles carry a label of their own; remove takes the series' labels.
        const { le: _le, quantile: _q, ...labels } = v.labels;
        try {
          metric.remove(labels);
        } catch {
          /* already removed with an earlier bucket of the same series */
        }
      }
    }
  }

  /** The device stopped answering: it counts as not hashing (a stale rate would stay in fleet totals and history). */
  down(device: string, model: string): void {
    this.up.set({ device, model }, 0);
    const series = this.poolSeries.get(device);
    if (series) {
      for (const pool of series.difficulty) this.difficulty.remove({ device, pool });
      if (series.connection !== undefined) this.removeConnection(device, series.connection);
      this.poolSeries.delete(device);
    }
    for (const window of ['5s', '60s', 'av']) this.hashrate.set({ device, window }, 0);
    this.samples.delete(device);
    const seen = this.seen.get(device);
    if (seen) seen.at = Date.now(); // the rate integration (devices without a counter) skips the silence
  }

  /**
   * Difficulty per pool (fleet pools and the one in use; strays not in use would all be 'other'),
   * the connection state of the current pool (one-hot over the CPU miner's states, so
   * `{state="authorized"} < 1` alerts work), and reconnects from "Get Failures". Series of pools
   * the device no longer reports go.
   */
  private recordPools(
    device: string,
    snap: DeviceSnapshot,
    poolName: (url: string, user: string) => string,
    activeName: string,
    mode: 'normal' | 'baseline' | 'reset',
  ): void {
    const series = this.poolSeries.get(device) ?? { difficulty: new Set<string>(), connection: undefined };
    this.poolSeries.set(device, series);
    const difficulty = new Map<string, number>();
    for (const p of snap.pools) {
      const pool = poolName(p.url, p.user);
      if (p.difficulty !== undefined && (pool !== 'other' || p.active)) difficulty.set(pool, p.difficulty);
      if (p.getFailures !== undefined)
        this.grow(`${device}|${p.url}|${p.user}|gf`, p.getFailures, (d) => this.reconnects.inc({ device, pool, reason: 'get_failures' }, d), mode);
    }
    // The pool in use wins a name shared by several device pools ('other').
    const inUse = snap.pools.find((p) => p.active && p.difficulty !== undefined);
    if (activeName && inUse?.difficulty !== undefined) difficulty.set(activeName, inUse.difficulty);
    for (const pool of series.difficulty) if (!difficulty.has(pool)) this.difficulty.remove({ device, pool });
    for (const [pool, v] of difficulty) this.difficulty.set({ device, pool }, v);
    series.difficulty = new Set(difficulty.keys());

    const st = devicePoolState(snap.pools);
    const pool = st ? poolName(st.pool.url, st.pool.user) : undefined;
    if (series.connection !== undefined && series.connection !== pool) this.removeConnection(device, series.connection);
    if (st && pool !== undefined) for (const s of CONNECTION_STATES) this.connectionState.set({ device, pool, state: s }, s === st.state ? 1 : 0);
    series.connection = pool;
  }

  private removeConnection(device: string, pool: string): void {
    for (const state of CONNECTION_STATES) this.connectionState.remove({ device, pool, state });
  }
}
