/**
 * Metrics of `miner supervise`: the CPU miner's `minefleet_miner_*` names with a `device` label,
 * plus what devices report about themselves (temperatures, fans, chain rates, hardware errors,
 * power). Device counters are cumulative on the device; they become Prometheus counters by
 * adding deltas, and a device restart (its Elapsed or a counter going down) counts from zero
 * again. A device seen for the first time counts what it did before only when it started after
 * this process did (all of it happened while we watched); an older device's counts date from
 * before (a previous supervisor already exported them, or nobody was watching): they only set the
 * baseline, so a supervisor restart never counts the same shares twice.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
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
    const hashing = snap.units.filter((u) => u.kind !== 'GPU');
    this.suspended.set({ device }, hashing.length > 0 && hashing.every((u) => !u.enabled) ? 1 : 0);
    for (const t of snap.temperatures) this.temperature.set({ device, sensor: t.sensor }, t.celsius);
    for (const f of snap.fans) this.fan.set({ device, fan: f.fan }, f.rpm);
    for (const c of snap.chains) this.chainRate.set({ device, chain: c.chain }, c.rate);
    this.grow(`${device}|hw`, snap.hardwareErrors, (d) => this.hwErrors.inc({ device }, d), mode);
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
    for (const window of ['5s', '60s', 'av']) this.hashrate.set({ device, window }, 0);
    this.samples.delete(device);
    const seen = this.seen.get(device);
    if (seen) seen.at = Date.now(); // the rate integration (devices without a counter) skips the silence
  }
}
