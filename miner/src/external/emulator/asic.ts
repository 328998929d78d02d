/**
 * An emulated scrypt ASIC: the state a cgminer-API device keeps (pools with priorities, hashing
 * units, counters) and the behaviour behind it. It really mines: jobs come from the pool it
 * picks with our Stratum client, nonces are scanned with our hash kernel at its (throttled)
 * rate, and shares go back to the pool. Pool choice is cgminer's failover strategy: the
 * highest-priority enabled pool that is not dead; a pool whose connection stays down past
 * `poolDeadMs` is marked Dead and a TCP probe brings it back.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { createKernel, type KernelName } from '../../hash/select.js';
import type { HashKernel } from '../../hash/kernel.js';
import { parsePoolUrl, StratumClient } from '../../stratum/client.js';
import { nonceHex } from '../../work/header.js';
import { leBytesToBigInt } from '../../work/target.js';
import type { Job, WorkUnit } from '../../work/job.js';
import type { ModelInfo } from '../models.js';
import { initialThermal, stepThermal, FAN_MAX_RPM, type ThermalParams, type ThermalState } from './thermal.js';

export interface EmuPool {
  id: number;
  url: string;
  user: string;
  password: string;
  priority: number;
  enabled: boolean;
  dead: boolean;
  accepted: number;
  rejected: number;
  stale: number;
  getworks: number;
  lastShareTime: number;
  /** The pool's share difficulty (its mining.set_difficulty), kept after a disconnect as cgminer does; 0 before the first. */
  difficulty: number;
  /** Difficulty of the last share submitted to the pool (0 before the first). */
  lastShareDifficulty: number;
  /** Sums of the difficulties of accepted / rejected / stale shares (cgminer's "Difficulty Accepted" ...). */
  difficultyAccepted: number;
  difficultyRejected: number;
  difficultyStale: number;
  /** Connections that were up and were interrupted (cgminer's "Get Failures"). */
  getFailures: number;
}

export interface EmuUnit {
  id: number;
  enabled: boolean;
  hashes: number;
  hardwareErrors: number;
}

export interface AsicOptions {
  model: ModelInfo;
  /** Nominal hashrate of the whole device in H/s (really computed, so keep it modest). */
  hashrate: number;
  ambientCelsius: number;
  tauSeconds?: number;
  poolDeadMs?: number;
  kernel?: KernelName;
  log: Logger;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const TICK_MS = 100;

export class EmulatedAsic {
  startedAt = Date.now();
  pools: EmuPool[] = [];
  readonly units: EmuUnit[];
  thermal: ThermalState;
  private readonly params: ThermalParams;
  private readonly kernel: HashKernel;
  private client: StratumClient | null = null;
  private clientPoolId = -1;
  private downSince: number | null = null;
  private work: WorkUnit | null = null;
  private nonce = 0;
  private round = 0;
  private budget = 0;
  private timer: NodeJS.Timeout;
  private probeTimer: NodeJS.Timeout;
  private ring: number[] = [];
  private tickHashes = 0;
  private secondHashes = 0;
  private lastSecond = Date.now();
  totalHashes = 0;
  accepted = 0;
  rejected = 0;
  stale = 0;
  hardwareErrors = 0;
  foundBlocks = 0;

  constructor(readonly opts: AsicOptions) {
    this.units = Array.from({ length: opts.model.chains }, (_, id) => ({ id, enabled: true, hashes: 0, hardwareErrors: 0 }));
    this.params = {
      ambientCelsius: opts.ambientCelsius,
      wattsIdle: opts.model.wattsIdle,
      wattsFull: opts.model.wattsFull,
      throttleCelsius: opts.model.throttleCelsius,
      tauSeconds: opts.tauSeconds ?? 20,
    };
    this.thermal = initialThermal(this.params);
    this.kernel = createKernel(opts.kernel);
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.probeTimer = setInterval(() => this.probeDeadPools(), 2000);
  }

  get log(): Logger {
    return this.opts.log;
  }

  /** Share of units hashing (before throttling). */
  get load(): number {
    return this.units.filter((u) => u.enabled).length / this.units.length;
  }

  /** Measured H/s over the last `seconds` full seconds. */
  rate(seconds: number): number {
    const xs = this.ring.slice(-seconds);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  }

  get elapsedSeconds(): number {
    return Math.max(1, Math.floor((Date.now() - this.startedAt) / 1000));
  }

  activePool(): EmuPool | undefined {
    return this.pools.find((p) => p.id === this.clientPoolId);
  }

  fanRpm(): number {
    return Math.round(this.thermal.fanFraction * FAN_MAX_RPM);
  }

  // ---- privileged commands -------------------------------------------------------------------

  addPool(url: string, user: string, password: string): EmuPool {
    try {
      parsePoolUrl(url);
    } catch {
      throw new CommandError(`Invalid URL '${url}'`, 53);
    }
    const pool: EmuPool = {
      id: this.pools.length,
      url,
      user,
      password,
      priority: this.pools.length,
      enabled: true,
      dead: false,
      accepted: 0,
      rejected: 0,
      stale: 0,
      getworks: 0,
      lastShareTime: 0,
      difficulty: 0,
      lastShareDifficulty: 0,
      difficultyAccepted: 0,
      difficultyRejected: 0,
      difficultyStale: 0,
      getFailures: 0,
    };
    this.pools.push(pool);
    this.selectPool();
    return pool;
  }

  private pool(id: number): EmuPool {
    const p = this.pools.find((x) => x.id === id);
    if (!p) throw new CommandError(`Invalid pool id ${id} - range is 0 - ${this.pools.length - 1}`, 26);
    return p;
  }

  /**
   * cgminer: the pool goes to the top of the priority list and is enabled. A Dead pool stays
   * Dead (cgminer's failover skips unusable pools) until the probe finds it answering again, so
   * the device reports Dead rather than a pool it cannot reach as the one in use.
   */
  switchPool(id: number): EmuPool {
    const p = this.pool(id);
    p.enabled = true;
    const rest = this.pools.filter((x) => x !== p).sort((a, b) => a.priority - b.priority);
    [p, ...rest].forEach((x, i) => (x.priority = i));
    this.selectPool();
    return p;
  }

  enablePool(id: number): EmuPool {
    const p = this.pool(id);
    p.enabled = true;
    this.selectPool();
    return p;
  }

  disablePool(id: number): EmuPool {
    const p = this.pool(id);
    if (this.pools.filter((x) => x.enabled).length === 1 && p.enabled) throw new CommandError('Cannot disable last active pool', 50);
    p.enabled = false;
    this.selectPool();
    return p;
  }

  removePool(id: number): EmuPool {
    const p = this.pool(id);
    if (p.id === this.clientPoolId) throw new CommandError(`Cannot remove active pool ${id}`, 67);
    if (this.pools.length === 1) throw new CommandError('Cannot remove last pool', 66);
    this.pools = this.pools.filter((x) => x !== p);
    // cgminer renumbers the pools after a removal.
    this.pools.forEach((x, i) => {
      if (x.id === this.clientPoolId) this.clientPoolId = i;
      x.id = i;
    });
    [...this.pools].sort((a, b) => a.priority - b.priority).forEach((x, i) => (x.priority = i));
    return p;
  }

  poolPriority(ids: number[]): void {
    const seen = new Set<number>();
    for (const id of ids) {
      this.pool(id);
      if (seen.has(id)) throw new CommandError(`Duplicate pool specified ${id}`, 74);
      seen.add(id);
    }
    const listed = ids.map((id) => this.pool(id));
    const rest = this.pools.filter((x) => !seen.has(x.id)).sort((a, b) => a.priority - b.priority);
    [...listed, ...rest].forEach((x, i) => (x.priority = i));
    this.selectPool();
  }

  private unit(id: number): EmuUnit {
    const u = this.units[id];
    if (!u) throw new CommandError(`Invalid device id ${id} - range is 0 - ${this.units.length - 1}`, 'ASC' === this.opts.model.kind ? 107 : 78);
    return u;
  }

  setUnit(id: number, enabled: boolean): EmuUnit {
    const u = this.unit(id);
    u.enabled = enabled;
    return u;
  }

  /** A restart clears counters and reconnects, as a firmware restart does. */
  restart(): void {
    this.accepted = this.rejected = this.stale = this.hardwareErrors = this.totalHashes = this.foundBlocks = 0;
    this.startedAt = Date.now(); // Elapsed starts again too: how a supervisor tells a restart from a quiet device
    for (const p of this.pools)
      Object.assign(p, { accepted: 0, rejected: 0, stale: 0, dead: false, difficultyAccepted: 0, difficultyRejected: 0, difficultyStale: 0, getFailures: 0 });
    this.ring = [];
    const c = this.client;
    this.client = null;
    this.clientPoolId = -1;
    this.work = null;
    void c?.stop(0);
    this.selectPool();
  }

  // ---- mining ---------------------------------------------------------------------------------

  /** cgminer failover: highest-priority enabled pool that is not dead. */
  private selectPool(): void {
    const best = [...this.pools].filter((p) => p.enabled && !p.dead).sort((a, b) => a.priority - b.priority)[0];
    if (!best) {
      if (this.client && !this.activePool()?.enabled) this.dropClient();
      return;
    }
    if (best.id === this.clientPoolId && this.client) return;
    this.connectTo(best);
  }

  private dropClient(): void {
    const c = this.client;
    this.client = null;
    this.clientPoolId = -1;
    this.work = null;
    void c?.stop(2000);
  }

  private connectTo(pool: EmuPool): void {
    const from = this.activePool();
    this.dropClient();
    this.log.info({ pool: pool.url, from: from?.url }, 'switching to pool');
    const client = new StratumClient({
      poolName: pool.url,
      url: pool.url,
      login: pool.user,
      password: pool.password,
      idleTimeoutMs: 120_000,
      backoff: { initialMs: 300, maxMs: 3000 },
      userAgent: `minefleet-emulate-asic/${this.opts.model.id}`,
      log: this.log,
    });
    this.client = client;
    this.clientPoolId = pool.id;
    this.downSince = Date.now();
    let wasUp = false;
    client.on('state', (s) => {
      if (client !== this.client) return;
      if (s === 'authorized') {
        this.downSince = null;
        wasUp = true;
      } else {
        if (wasUp) pool.getFailures++; // cgminer: "Stratum connection to pool N interrupted"
        wasUp = false;
        this.downSince ??= Date.now();
        this.work = null;
      }
    });
    client.on('difficulty', (d: number) => {
      if (client === this.client) pool.difficulty = d;
    });
    client.on('job', (job) => {
      if (client !== this.client) return;
      pool.getworks++;
      pool.difficulty = job.session.difficulty;
      this.setJob(job);
    });
    client.start();
  }

  private setJob(job: Job): void {
    this.round++;
    this.work = job.workFor(0, 1, this.round);
    this.nonce = this.work.nonceStart;
  }

  private probeDeadPools(): void {
    for (const p of this.pools.filter((x) => x.dead && x.enabled)) {
      let target;
      try {
        target = parsePoolUrl(p.url);
      } catch {
        continue;
      }
      const s = net.connect({ host: target.host, port: target.port });
      s.setTimeout(1500, () => s.destroy());
      s.once('connect', () => {
        s.destroy();
        if (p.dead) {
          p.dead = false;
          this.log.info({ pool: p.url }, 'pool alive again');
          this.selectPool();
        }
      });
      s.once('error', () => s.destroy());
    }
  }

  private tick(): void {
    const now = Date.now();
    const deadMs = this.opts.poolDeadMs ?? 3000;
    const act = this.activePool();
    if (act && this.downSince !== null && now - this.downSince > deadMs) {
      act.dead = true;
      this.log.warn({ pool: act.url, deadMs }, 'pool not responding; failing over');
      this.dropClient();
      this.selectPool();
    }
    this.thermal = stepThermal(this.thermal, this.params, this.work ? this.load : 0, TICK_MS / 1000);
    this.hash();
    if (now - this.lastSecond >= 1000) {
      this.ring.push(this.secondHashes / ((now - this.lastSecond) / 1000));
      if (this.ring.length > 900) this.ring.shift();
      this.secondHashes = 0;
      this.lastSecond = now;
    }
  }

  private hash(): void {
    const client = this.client;
    const work = this.work;
    const enabled = this.units.filter((u) => u.enabled);
    if (!client || !work || enabled.length === 0 || client.state !== 'authorized') {
      this.budget = 0;
      return;
    }
    this.budget += (this.opts.hashrate * this.load * this.thermal.throttle * TICK_MS) / 1000;
    const count = Math.floor(this.budget);
    if (count <= 0) return;
    this.budget -= count;
    const res = this.kernel.scanNonces(work.header, this.nonce >>> 0, count, work.shareTargetLe);
    this.nonce += res.hashes;
    this.totalHashes += res.hashes;
    this.secondHashes += res.hashes;
    enabled.forEach((u, i) => (u.hashes += Math.floor(res.hashes / enabled.length) + (i < res.hashes % enabled.length ? 1 : 0)));
    // Hot chips make errors: a few per second above the throttle point.
    if (this.thermal.celsius > this.params.throttleCelsius) {
      const u = enabled[Math.floor(Math.random() * enabled.length)]!;
      u.hardwareErrors++;
      this.hardwareErrors++;
    }
    if (this.nonce - work.nonceStart >= work.nonceCount) this.work = null;
    const pool = this.activePool();
    const diff = work.difficulty;
    for (const nonce of res.found) {
      // A share whose hash also meets the network target is a block candidate (cgminer's "Found Blocks").
      if (leBytesToBigInt(this.kernel.hashRange(work.header, nonce, 1)) <= work.blockTarget) this.foundBlocks++;
      const sub = { jobId: work.jobId, extranonce2: work.extranonce2, ntime: work.ntime, nonce: nonceHex(nonce) };
      if (pool) pool.lastShareDifficulty = diff;
      void client.submit(sub).then((o) => {
        if (o.result === 'accepted') {
          this.accepted++;
          if (pool) {
            pool.accepted++;
            pool.difficultyAccepted += diff;
            pool.lastShareTime = Math.floor(Date.now() / 1000);
          }
        } else if (o.result === 'stale') {
          this.stale++;
          if (pool) {
            pool.stale++;
            pool.difficultyStale += diff;
          }
        } else {
          this.rejected++;
          if (pool) {
            pool.rejected++;
            pool.difficultyRejected += diff;
          }
        }
      });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.probeTimer);
    const c = this.client;
    this.client = null;
    await c?.stop(1000);
  }
}
