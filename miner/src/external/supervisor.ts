/**
 * Drives external miners (one sidecar or many networked ASICs) to the fleet's wanted state over
 * the cgminer API. Level-triggered: every poll (and at once when the wanted state changes) each
 * device is read, the difference is planned by planActions and applied, and the device is read
 * again until nothing is left to do. Devices are independent: one that hangs, floods or sends
 * garbage costs its own bounded requests and never delays the others.
 */
import type { Logger } from 'pino';
import { CgminerClient } from './client.js';
import type { SupervisorMetrics } from './metrics.js';
import { describeAction, matchPool, planActions, type Action, type WantedState } from './plan.js';
import { ReplyError, type CgReply } from './reply.js';
import { buildSnapshot, resolveModel, type DeviceSnapshot } from './snapshot.js';
import type { ModelInfo } from './models.js';

export interface DeviceTarget {
  name: string;
  host: string;
  port: number;
  model?: string;
}

export interface SupervisorOptions {
  devices: DeviceTarget[];
  pollIntervalMs: number;
  requestTimeoutMs: number;
  maxReplyBytes?: number;
  log: Logger;
  metrics: SupervisorMetrics;
  /** Wanted state per device (credentials may differ per device: worker names). */
  wanted: (device: string) => WantedState | null;
}

const MAX_ROUNDS = 6;

class Device {
  readonly client: CgminerClient;
  model: ModelInfo | null = null;
  snapshot: DeviceSnapshot | null = null;
  running: Promise<void> | null = null;
  again = false;
  /** The next pass also reads sensors (stats); a pass for a changed wanted state skips them. */
  sensors = true;
  lastActivePool = '';
  lastError = '';
  /** No longer this supervisor's (setDevices): its running pass ends, no new one starts. */
  retired = false;

  constructor(
    readonly target: DeviceTarget,
    timeoutMs: number,
    maxReplyBytes: number | undefined,
  ) {
    this.client = new CgminerClient({ host: target.host, port: target.port, timeoutMs, ...(maxReplyBytes ? { maxReplyBytes } : {}) });
  }
}

export class Supervisor {
  private devices: Device[];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.devices = opts.devices.map((t) => new Device(t, opts.requestTimeoutMs, opts.maxReplyBytes));
  }

  start(): void {
    this.kickAll(true);
    this.timer = setInterval(() => this.kickAll(true), this.opts.pollIntervalMs);
  }

  /**
   * Reconcile every device now: the poll tick (with sensors), or a changed wanted state
   * (`withSensors` false: only what the decision needs, so devices follow sooner).
   */
  kickAll(withSensors = false): void {
    for (const d of this.devices) this.kick(d, withSensors);
  }

  /** Names of the devices driven now. */
  deviceNames(): string[] {
    return this.devices.map((d) => d.target.name);
  }

  /**
   * Drive exactly these devices from now on (the pod's share of a sharded fleet changed). Devices
   * that stay keep their state; a new one is polled at once; one that leaves is no longer sent any
   * command once its current pass ends, and its metrics series go (the pod that takes it over
   * exports them), so a fleet total never counts a device twice.
   */
  setDevices(targets: DeviceTarget[]): void {
    const key = (t: DeviceTarget) => JSON.stringify([t.name, t.host, t.port, t.model ?? '']);
    const current = new Map(this.devices.map((d) => [key(d.target), d]));
    const next: Device[] = [];
    for (const t of targets) next.push(current.get(key(t)) ?? new Device(t, this.opts.requestTimeoutMs, this.opts.maxReplyBytes));
    const kept = new Set(next);
    for (const d of this.devices) {
      if (kept.has(d)) continue;
      d.retired = true;
      const name = d.target.name;
      void (d.running ?? Promise.resolve()).then(() => {
        // The same name may have come back (moved back, or a changed endpoint): keep its series then.
        if (!this.devices.some((x) => x.target.name === name)) void this.opts.metrics.forget(name);
      });
      this.opts.log.info({ device: name }, 'device no longer assigned to this supervisor; stopped driving it');
    }
    const added = next.filter((d) => !this.devices.includes(d));
    this.devices = next;
    if (this.timer) for (const d of added) this.kick(d, true);
  }

  private kick(d: Device, withSensors: boolean): void {
    if (this.stopped || d.retired) return;
    if (d.running) {
      d.again = true; // one more pass right after the current one: no change is lost
      return;
    }
    const sensors = withSensors || d.sensors;
    d.sensors = false;
    d.running = this.reconcile(d, sensors)
      .catch((e: unknown) => this.opts.log.error({ device: d.target.name, err: e }, 'device reconcile failed unexpectedly'))
      .finally(() => {
        d.running = null;
        if (d.again) {
          d.again = false;
          this.kick(d, false);
        }
      });
  }

  /** Snapshot of every device (null where the last poll failed). */
  snapshots(): Array<{ device: string; snapshot: DeviceSnapshot | null; error: string }> {
    return this.devices.map((d) => ({ device: d.target.name, snapshot: d.snapshot, error: d.lastError }));
  }

  private async read(d: Device, withSensors: boolean): Promise<DeviceSnapshot> {
    const c = d.client;
    let stats: CgReply | undefined;
    if (withSensors || !d.model) {
      stats = await c.stats().catch((e: unknown) => {
        // Not every miner has stats (or allows it); the rest still works without sensors.
        this.countError(d, e);
        return undefined;
      });
    }
    if (!d.model) {
      const version = stats ? undefined : await c.version().catch(() => undefined);
      d.model = resolveModel(d.target.model, stats, version);
    }
    const [summary, pools, devs] = [await c.summary(), await c.pools(), await c.devs()];
    return buildSnapshot({ model: d.model, summary, pools, devs, ...(stats ? { stats } : {}) });
  }

  private countError(d: Device, e: unknown): void {
    const kind = e instanceof ReplyError ? e.kind : 'other';
    this.opts.metrics.apiErrors.inc({ device: d.target.name, kind });
  }

  private poolNamer(want: WantedState | null): (url: string, user: string) => string {
    return (url, user) => {
      if (!want) return 'other';
      const w = want.pools.find((p) => matchPool([{ id: 0, url, user, status: '', priority: 0, active: false, accepted: 0, rejected: 0, stale: 0 }], p));
      return w?.name ?? 'other';
    };
  }

  private async reconcile(d: Device, sensors: boolean): Promise<void> {
    const started = Date.now();
    const name = d.target.name;
    const log = this.opts.log.child({ device: name });
    try {
      for (let round = 0; round < MAX_ROUNDS && !this.stopped && !d.retired; round++) {
        const want = this.opts.wanted(name);
        const snap = await this.read(d, sensors && round === 0);
        d.snapshot = snap;
        if (d.lastError) log.info('device API answering again');
        d.lastError = '';
        const namer = this.poolNamer(want);
        this.opts.metrics.record(name, snap, namer, want?.pools.map((p) => p.name) ?? []);
        const act = snap.pools.find((p) => p.active);
        const activeName = act ? namer(act.url, act.user) : '';
        if (want) this.opts.metrics.localFallback.set({ device: name }, activeName && activeName !== want.activePool ? 1 : 0);
        if (activeName !== d.lastActivePool) {
          if (d.lastActivePool) {
            const cause = want && activeName === want.activePool ? 'runtime' : 'device';
            this.opts.metrics.poolSwitches.inc({ device: name, from: d.lastActivePool, to: activeName || 'none', cause });
            if (cause === 'device') this.opts.metrics.fallbacks.inc({ device: name, from: d.lastActivePool, to: activeName || 'none', reason: 'device' });
            log.info({ from: d.lastActivePool, to: activeName || 'none', cause }, 'device changed pool');
          }
          d.lastActivePool = activeName;
        }
        if (!want || d.retired) return;
        const actions = planActions(want, snap.pools, snap.units);
        if (actions.length === 0) return;
        for (const a of actions) {
          if (d.retired) return; // another pod owns it now: send it nothing more
          await this.apply(d, a, log);
        }
      }
      log.warn({ rounds: MAX_ROUNDS }, 'device did not reach the wanted state within the round limit; retrying next poll');
    } catch (e) {
      this.countError(d, e);
      this.opts.metrics.down(name, d.model?.id ?? 'unknown');
      const msg = (e as Error).message;
      if (msg !== d.lastError) log.warn({ err: msg }, 'device API request failed');
      d.lastError = msg;
      d.snapshot = null;
    } finally {
      this.opts.metrics.pollSeconds.set({ device: name }, (Date.now() - started) / 1000);
    }
  }

  private async apply(d: Device, a: Action, log: Logger): Promise<void> {
    const c = d.client;
    const device = d.target.name;
    try {
      switch (a.cmd) {
        case 'addpool':
          await c.addPool(a.url, a.user, a.password);
          break;
        case 'enablepool':
          await c.enablePool(a.id);
          break;
        case 'switchpool':
          await c.switchPool(a.id);
          break;
        case 'removepool':
          await c.removePool(a.id);
          break;
        case 'poolpriority':
          await c.poolPriority(a.ids);
          break;
        case 'ascenable':
          await c.ascEnable(a.id);
          break;
        case 'ascdisable':
          await c.ascDisable(a.id);
          break;
        case 'pgaenable':
          await c.pgaEnable(a.id);
          break;
        case 'pgadisable':
          await c.pgaDisable(a.id);
          break;
        case 'gpuenable':
          await c.gpuEnable(a.id);
          break;
        case 'gpudisable':
          await c.gpuDisable(a.id);
          break;
      }
      this.opts.metrics.actions.inc({ device, command: a.cmd, result: 'ok' });
      log.info({ action: describeAction(a) }, 'device command applied');
    } catch (e) {
      this.opts.metrics.actions.inc({ device, command: a.cmd, result: 'error' });
      // The message names the command and the device's answer; never the parameter (passwords).
      log.warn({ action: describeAction(a), err: (e as Error).message }, 'device command failed');
      if (!(e instanceof ReplyError && e.kind === 'status')) throw e;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.devices.map((d) => d.running ?? Promise.resolve()));
  }
}
