import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { API_VERSION, MINER_FLEET_KIND } from '../api/v1alpha1/constants.js';
import { labelValue } from '../controllers/minerfleet/desired/names.js';
import type { Informer } from '../runtime/informer.js';
import type { KubeRest } from '../runtime/rest.js';
import { objectPath, type KubeObject, type ResourceType } from '../runtime/resource.js';
import type { HistoryStore, ShareDoc } from '../store/index.js';
import { DEFAULT_DEAD_BAND, pickStatusWrites, shareWriteBudget, statusWriteReason, type DeadBand, type FleetRate, type StatusWriteReason } from './deadband.js';
import { counterDelta, firstBaseline, type CounterBaseline, type ScrapeDelta } from './deltas.js';
import { parseMinerMetrics, splitShareKey, type DeviceReading, type ShareResult } from './exposition.js';
import { forEachLimited, ScrapeClient } from './http.js';
import { scrapeTarget, type MinerPod } from './pods.js';
import { nextCycleStart } from './schedule.js';
import {
  advanceCursor,
  keepShare,
  parseSharesPage,
  restarted,
  shareDoc,
  sharesDue,
  sharesSeen,
  type SharesSeen,
  type ShareCursor,
  type ShareHistoryMode,
} from './shares.js';
import { WindowAccumulator, type DeviceInfo, type PodObservation } from './windows.js';

export const COLLECTOR_FIELD_MANAGER = 'minefleet-collector';
const MAX_METRICS_BYTES = 1 << 20;
const MAX_SHARE_PAGES_PER_CYCLE = 20;
/**
 * Shares are handed to the store in chunks of this many while the cycle runs, not all at its end:
 * the first cycle over a farm empties every miner's ring (10,000 pods × a full ring is hundreds
 * of thousands of records), which held at once would be the operator's memory peak.
 */
export const SHARE_HANDOVER_CHUNK = 2_000;

/** What the collector keeps of a MinerFleet. */
export interface FleetView extends KubeObject {
  metadata: { name: string; namespace: string; uid: string; resourceVersion?: string };
  spec: { history?: { enabled?: boolean; retentionDays?: number; shares?: ShareHistoryMode }; device?: { kind?: string } };
  /** Absent on a fleet no controller has written status for yet (the cache holds full objects). */
  status?: { hashrate?: number; shares?: FleetRate['shares'] };
}

export interface CollectorOptions {
  rest: KubeRest;
  pods: Informer<MinerPod>;
  fleets: Informer<FleetView>;
  fleetResource: ResourceType;
  store: HistoryStore | undefined;
  registry: Registry;
  logger: Logger;
  intervalMs: number;
  windowSeconds: number;
  concurrency: number;
  timeoutMs: number;
  defaultMetricsPort: number;
  /** Only the leader collects (standbys keep warm caches). */
  isLeader: () => boolean;
  /**
   * Cancels every request of a cycle (scrapes and status writes) at once, e.g. the manager's
   * leadership signal: a collector whose instance lost the lease sends nothing more.
   */
  signal?: AbortSignal;
  deadBand?: DeadBand;
  /**
   * Where stop() saves baselines, share cursors and open windows, so the next process (a restart,
   * or a new leader on the same volume) continues them: no gap and no double count. Optional.
   */
  stateFile?: string;
}

type SavedBaseline = Omit<CounterBaseline, 'shares'> & { shares: Array<[string, number]> };

interface SavedState {
  version: 1;
  savedAt: number;
  startedAt: number;
  pods: Array<[string, { baseline?: SavedBaseline; cursor?: ShareCursor; devices?: Array<[string, SavedBaseline]> }]>;
  fleets: Array<[string, FleetState]>;
  windows: unknown;
}

interface PodState {
  baseline?: CounterBaseline;
  cursor?: ShareCursor;
  /** A supervisor pod: one baseline per external device. */
  devices?: Map<string, CounterBaseline>;
  /** The share counters as of the last complete /shares pull: unchanged counters mean no new records. */
  sharesPulled?: SharesSeen;
}

/** Where one scrape's window samples belong. */
interface SampleContext {
  pod: MinerPod;
  fleet: FleetView;
  fk: string;
  at: number;
  retentionDays?: number;
}

/** The gauges of a window sample, as the scrape read them. */
type SampleGauges = Pick<PodObservation, 'pool' | 'difficulty' | 'hashrate10s' | 'hashrate60s' | 'connectionState' | 'jobAgeSeconds'>;

const DEVICE_KINDS = ['cpu', 'gpu', 'usb', 'network'] as const;
const saveBaseline = (b: CounterBaseline): SavedBaseline => ({ ...b, shares: [...b.shares] });
const loadBaseline = (b: SavedBaseline): CounterBaseline => ({ ...b, shares: new Map(b.shares) });

interface FleetState {
  lastWritten?: { value: FleetRate; at: number };
  /** share increments not yet in status */
  pendingShares: FleetRate['shares'];
}

const zeroShares = (): FleetRate['shares'] => ({ accepted: 0, rejected: 0, stale: 0 });

/**
 * Scrapes every ready miner pod each interval (bounded concurrency, timeout), turns counters into
 * per-window deltas, pulls new shares with a cursor per pod, writes samples, rollups and shares to
 * the history store (idempotent keys; the store buffers while MongoDB is down), and writes each
 * fleet's status.hashrate/shares through server-side apply with its own field manager, within a
 * dead band. State per pod is a few numbers, dropped when the pod leaves the cache.
 */
export class Collector {
  private readonly pods = new Map<string, PodState>();
  private readonly fleets = new Map<string, FleetState>();
  private readonly windows: WindowAccumulator;
  private readonly http = new ScrapeClient();
  private startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  readonly stats = { cycles: 0, statusWrites: 0, scrapes: 0, scrapeErrors: 0 };
  private readonly m: {
    cycle: Histogram;
    scrapes: Counter<'result'>;
    targets: Gauge;
    samples: Counter<'collection'>;
    sharesLost: Counter;
    statusWrites: Counter;
    overruns: Counter;
  };

  constructor(readonly opts: CollectorOptions) {
    this.windows = new WindowAccumulator(opts.windowSeconds, opts.intervalMs);
    const r = [opts.registry];
    this.m = {
      cycle: new Histogram({
        name: 'minefleet_collector_cycle_seconds',
        help: 'Duration of one scrape cycle over all miner pods',
        buckets: [0.1, 0.5, 1, 2, 5, 10, 15, 30, 60],
        registers: r,
      }),
      scrapes: new Counter({ name: 'minefleet_collector_scrapes_total', help: 'Miner pod scrapes by result (ok|error)', labelNames: ['result'], registers: r }),
      targets: new Gauge({ name: 'minefleet_collector_targets', help: 'Ready miner pods scraped in the last cycle', registers: r }),
      samples: new Counter({
        name: 'minefleet_collector_documents_total',
        help: 'History documents handed to the store, by collection',
        labelNames: ['collection'],
        registers: r,
      }),
      sharesLost: new Counter({
        name: 'minefleet_collector_shares_lost_total',
        help: "Share records that fell out of a miner's ring before the collector read them",
        registers: r,
      }),
      statusWrites: new Counter({
        name: 'minefleet_collector_status_writes_total',
        help: 'MinerFleet status writes (hashrate, shares) past the dead band',
        registers: r,
      }),
      overruns: new Counter({
        name: 'minefleet_collector_cycle_overruns_total',
        help: 'Cycles that took longer than the scrape interval (the next one started late): the collector is not keeping up',
        registers: r,
      }),
    };
  }

  /** Loads the state a previous process saved (if any and not older than two windows). */
  async restore(): Promise<boolean> {
    const file = this.opts.stateFile;
    if (!file) return false;
    let saved: SavedState;
    try {
      saved = JSON.parse(await readFile(file, 'utf8')) as SavedState;
    } catch {
      return false;
    }
    await rm(file, { force: true });
    if (saved.version !== 1 || Date.now() - saved.savedAt > 2 * this.opts.windowSeconds * 1000 + 10 * 60_000) {
      this.opts.logger.warn({ stateFile: file }, 'collector: saved state too old or unknown; starting fresh');
      return false;
    }
    this.startedAt = saved.startedAt;
    for (const [uid, p] of saved.pods) {
      const st: PodState = {};
      if (p.baseline) st.baseline = loadBaseline(p.baseline);
      if (p.cursor) st.cursor = p.cursor;
      if (p.devices) st.devices = new Map(p.devices.map(([d, b]) => [d, loadBaseline(b)]));
      this.pods.set(uid, st);
    }
    for (const [fk, f] of saved.fleets) this.fleets.set(fk, f);
    this.windows.import(saved.windows);
    this.opts.logger.info({ stateFile: file, pods: saved.pods.length, openWindows: this.windows.openWindows }, 'collector: continuing from saved state');
    return true;
  }

  private async save(): Promise<void> {
    const file = this.opts.stateFile;
    if (!file) return;
    const state: SavedState = {
      version: 1,
      savedAt: Date.now(),
      startedAt: this.startedAt,
      pods: [...this.pods].map(([uid, p]) => [
        uid,
        {
          ...(p.baseline ? { baseline: saveBaseline(p.baseline) } : {}),
          ...(p.cursor ? { cursor: p.cursor } : {}),
          ...(p.devices ? { devices: [...p.devices].map(([d, b]) => [d, saveBaseline(b)] as [string, SavedBaseline]) } : {}),
        },
      ]),
      fleets: [...this.fleets],
      windows: this.windows.export(),
    };
    await writeFile(`${file}.tmp`, JSON.stringify(state));
    await rename(`${file}.tmp`, file);
  }

  /**
   * Cycles start at a fixed rate, one every interval from the first (as Prometheus scrapes), so
   * every pod is sampled once per interval whatever a cycle takes. A cycle that runs past the
   * next start is an overrun: the next one starts as soon as it ends and the schedule continues
   * from there (never two at once, never a burst to catch up).
   */
  start(): void {
    let due = Date.now();
    const tick = () => {
      if (this.stopped) return;
      this.running = this.cycle()
        .catch((err: unknown) => this.opts.logger.error({ err }, 'collector: cycle failed'))
        .finally(() => {
          if (this.stopped) return;
          const next = nextCycleStart(due, this.opts.intervalMs, Date.now());
          if (next.overrun) this.m.overruns.inc();
          due = next.at;
          this.timer = setTimeout(tick, Math.max(0, due - Date.now()));
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.http.close();
    // Complete windows are written; open ones (and baselines, cursors) are saved for the next process.
    await this.flushWindows(Date.now(), false);
    await this.save().catch((err: unknown) => this.opts.logger.error({ err }, 'collector: could not save state'));
  }

  private fleetsByLabel(): Map<string, FleetView> {
    const out = new Map<string, FleetView>();
    for (const f of this.opts.fleets.store.list()) out.set(`${f.metadata.namespace}/${labelValue(f.metadata.name)}`, f);
    return out;
  }

  /** What every request of a cycle obeys (plus its own time bound). */
  private get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  /** A failure that is only the cycle being cancelled: not worth a warning or an error count. */
  private cancelled(): boolean {
    return this.signal?.aborted === true;
  }

  /** One pass over all pods; public for tests and the benchmark. */
  async cycle(now = Date.now()): Promise<void> {
    if (!this.opts.isLeader() || this.cancelled()) return;
    const end = this.m.cycle.startTimer();
    this.stats.cycles++;
    const fleets = this.fleetsByLabel();
    const hashrate = new Map<string, number>();
    const targets: Array<{ pod: MinerPod; fleet: FleetView; url: string; sharesUrl: string }> = [];
    const live = new Set<string>();
    for (const pod of this.opts.pods.store.list()) {
      live.add(pod.metadata.uid);
      const fleet = fleets.get(`${pod.metadata.namespace}/${pod.metadata.labels['minefleet.io/fleet'] ?? ''}`);
      if (!fleet) continue;
      const t = scrapeTarget(pod, this.opts.defaultMetricsPort);
      if (t) targets.push({ pod, fleet, ...t });
    }
    for (const f of fleets.values()) hashrate.set(`${f.metadata.namespace}/${f.metadata.name}`, 0);
    this.m.targets.set(targets.length);
    const shareDocs: ShareDoc[] = [];
    await forEachLimited(targets, this.opts.concurrency, async ({ pod, fleet, url, sharesUrl }) => {
      const fk = `${fleet.metadata.namespace}/${fleet.metadata.name}`;
      const state = this.pods.get(pod.metadata.uid) ?? {};
      this.pods.set(pod.metadata.uid, state);
      const history = fleet.spec.history;
      const retentionDays = history?.retentionDays;
      try {
        const at = Date.now();
        const reading = parseMinerMetrics(await this.http.get(url, this.opts.timeoutMs, MAX_METRICS_BYTES, this.signal));
        this.stats.scrapes++;
        this.m.scrapes.inc({ result: 'ok' });
        const prev = state.baseline ?? firstBaseline(reading, this.startedAt);
        const { delta, baseline } = counterDelta(prev, reading, at);
        state.baseline = baseline;
        // Summed over the devices of a supervisor pod by the parser.
        hashrate.set(fk, (hashrate.get(fk) ?? 0) + reading.hashrate60s);
        const ctx: SampleContext = { pod, fleet, fk, at, ...(retentionDays !== undefined ? { retentionDays } : {}) };
        if (reading.devices) {
          // A supervisor pod: every device its own history row, deltas per device (a device's
          // counters are its own: one restarting does not reset the others).
          this.observeDevices(state, reading.devices, ctx);
        } else if (delta) {
          this.addSample(ctx, delta, {
            pool: reading.activePool,
            difficulty: reading.difficulty,
            hashrate10s: reading.hashrate10s,
            hashrate60s: reading.hashrate60s,
            connectionState: reading.connectionState,
            jobAgeSeconds: reading.jobAgeSeconds,
          });
        }
        const mode: ShareHistoryMode = history?.enabled === false ? 'none' : (history?.shares ?? 'all');
        // A supervisor has no /shares: the cgminer API reports share counts per pool, never the
        // shares themselves (job, nonce), so there is no record to store; its counts are in the
        // per-device samples above.
        if (this.opts.store && mode !== 'none' && !reading.devices && sharesDue(state.cursor, state.sharesPulled, reading)) {
          const complete = await this.pullShares(
            state,
            sharesUrl,
            mode,
            {
              namespace: pod.metadata.namespace,
              fleet: fleet.metadata.name,
              pod: pod.metadata.name,
              podUid: pod.metadata.uid,
              ...(retentionDays !== undefined ? { retentionDays } : {}),
            },
            shareDocs,
          );
          if (complete) state.sharesPulled = sharesSeen(reading);
          if (shareDocs.length >= SHARE_HANDOVER_CHUNK) await this.handOverShares(shareDocs);
        }
      } catch (err) {
        const where = { fleet: fleet.metadata.name, namespace: pod.metadata.namespace, pod: pod.metadata.name };
        if (this.cancelled()) {
          this.opts.logger.debug({ ...where, err }, 'collector: scrape cancelled');
          return;
        }
        this.stats.scrapeErrors++;
        this.m.scrapes.inc({ result: 'error' });
        this.opts.logger.warn({ ...where, err }, 'collector: scrape failed');
      }
    });
    for (const uid of this.pods.keys()) if (!live.has(uid)) this.pods.delete(uid);
    await this.handOverShares(shareDocs);
    await this.flushWindows(now, false, fleets);
    await this.writeStatuses(fleets, hashrate, Date.now());
    end();
  }

  private observeDevices(state: PodState, devices: Map<string, DeviceReading>, ctx: SampleContext): void {
    const baselines = (state.devices ??= new Map<string, CounterBaseline>());
    for (const name of baselines.keys()) if (!devices.has(name)) baselines.delete(name);
    const kind = DEVICE_KINDS.find((k) => k === ctx.fleet.spec.device?.kind) ?? 'network';
    for (const [name, dr] of devices) {
      const prev = baselines.get(name) ?? firstBaseline(dr, this.startedAt);
      const { delta, baseline } = counterDelta(prev, dr, ctx.at);
      baselines.set(name, baseline);
      if (!delta) continue;
      const device: DeviceInfo = {
        name,
        kind,
        ...(dr.model ? { model: dr.model } : {}),
        ...(dr.temperatureC !== undefined ? { temperatureC: dr.temperatureC } : {}),
        ...(dr.powerW !== undefined ? { powerW: dr.powerW } : {}),
      };
      const gauges: SampleGauges = {
        pool: dr.activePool,
        difficulty: dr.difficulty,
        hashrate10s: dr.hashrate10s,
        hashrate60s: dr.hashrate60s,
        // The device's own pool connection state when it reports one (the CPU miner's states);
        // 'down' while its API does not answer, 'up' when it answers but says nothing about pools.
        connectionState: dr.up ? (dr.connectionState ?? 'up') : 'down',
        jobAgeSeconds: dr.jobAgeSeconds, // none from a cgminer device: the sample then has none
      };
      this.addSample(ctx, delta, gauges, device);
    }
  }

  /**
   * One scrape's increments into the pod's (or device's) window sample, and its share counts
   * into the fleet's pending status shares: the one place a miner pod and a supervisor's device
   * sample are built.
   */
  private addSample(ctx: SampleContext, delta: ScrapeDelta, gauges: SampleGauges, device?: DeviceInfo): void {
    const { pod, fleet } = ctx;
    const fs = this.fleetState(ctx.fk);
    for (const [k, n] of delta.shares) fs.pendingShares[splitShareKey(k).result as ShareResult] += n;
    this.windows.add({
      namespace: pod.metadata.namespace,
      fleet: fleet.metadata.name,
      pod: pod.metadata.name,
      podUid: pod.metadata.uid,
      ...(pod.spec.nodeName ? { node: pod.spec.nodeName } : {}),
      at: ctx.at,
      hashes: delta.hashes,
      shares: delta.shares,
      ...gauges,
      ...(ctx.retentionDays !== undefined ? { retentionDays: ctx.retentionDays } : {}),
      ...(device ? { device } : {}),
    });
  }

  private fleetState(fk: string): FleetState {
    let s = this.fleets.get(fk);
    if (!s) this.fleets.set(fk, (s = { pendingShares: zeroShares() }));
    return s;
  }

  /** Pulls the pod's new share records; true when the ring was read to its end (no page left). */
  /** Moves what `pending` holds into the store (splice first: concurrent scrapes keep appending). */
  private async handOverShares(pending: ShareDoc[]): Promise<void> {
    if (pending.length === 0 || !this.opts.store) return;
    const docs = pending.splice(0);
    await this.opts.store.writeShares(docs);
    this.m.samples.inc({ collection: 'shares' }, docs.length);
  }

  private async pullShares(state: PodState, url: string, mode: ShareHistoryMode, pod: Parameters<typeof shareDoc>[1], out: ShareDoc[]): Promise<boolean> {
    for (let i = 0; i < MAX_SHARE_PAGES_PER_CYCLE; i++) {
      let from = state.cursor?.seq ?? 0;
      let page = parseSharesPage(await this.http.get(`${url}?after=${from}`, this.opts.timeoutMs, 4 * MAX_METRICS_BYTES, this.signal));
      if (restarted(state.cursor, page)) {
        from = 0;
        page = parseSharesPage(await this.http.get(`${url}?after=0`, this.opts.timeoutMs, 4 * MAX_METRICS_BYTES, this.signal));
      }
      const r = advanceCursor(from, page);
      if (r.lost > 0) {
        this.m.sharesLost.inc(r.lost);
        this.opts.logger.warn(
          { namespace: pod.namespace, fleet: pod.fleet, pod: pod.pod, lost: r.lost },
          'collector: shares fell out of the miner ring before they were read',
        );
      }
      for (const s of r.fresh) if (keepShare(mode, s)) out.push(shareDoc(s, pod));
      // The cursor moves once the records are handed over (the store never loses what it accepted).
      state.cursor = r.cursor;
      if (!page.more) return true;
    }
    return false;
  }

  private async flushWindows(now: number, all: boolean, fleets = this.fleetsByLabel()): Promise<void> {
    const store = this.opts.store;
    const closed = this.windows.close(now, all);
    if (!store) return;
    const enabled = new Set([...fleets.values()].filter((f) => f.spec.history?.enabled !== false).map((f) => `${f.metadata.namespace}/${f.metadata.name}`));
    const samples = closed.samples.filter((s) => enabled.has(`${s.namespace}/${s.fleet}`));
    const rollups = closed.rollups.filter((s) => enabled.has(`${s.namespace}/${s.fleet}`));
    if (samples.length) {
      await store.writeSamples(samples);
      this.m.samples.inc({ collection: 'samples' }, samples.length);
    }
    if (rollups.length) {
      await store.writeRollups(rollups);
      this.m.samples.inc({ collection: 'rollups' }, rollups.length);
    }
  }

  private async writeStatuses(fleets: Map<string, FleetView>, hashrate: Map<string, number>, now: number): Promise<void> {
    const live = new Set<string>();
    const band = this.opts.deadBand ?? DEFAULT_DEAD_BAND;
    const due: Array<{ reason: StatusWriteReason; lastAt: number; write: () => Promise<void> }> = [];
    for (const f of fleets.values()) {
      const fk = `${f.metadata.namespace}/${f.metadata.name}`;
      live.add(fk);
      const fs = this.fleetState(fk);
      const base = fs.lastWritten?.value.shares ?? f.status?.shares ?? zeroShares();
      const next: FleetRate = {
        hashrate: Math.round(hashrate.get(fk) ?? 0),
        shares: {
          accepted: base.accepted + fs.pendingShares.accepted,
          rejected: base.rejected + fs.pendingShares.rejected,
          stale: base.stale + fs.pendingShares.stale,
        },
      };
      const last =
        fs.lastWritten ??
        (f.status?.hashrate !== undefined ? { value: { hashrate: f.status.hashrate, shares: f.status.shares ?? zeroShares() }, at: 0 } : undefined);
      const reason = statusWriteReason(last, next, now, band);
      if (!reason) continue;
      due.push({
        reason,
        lastAt: last?.at ?? 0,
        write: async () => {
          try {
            await this.opts.rest.apply(
              objectPath(this.opts.fleetResource, f.metadata.namespace, f.metadata.name, 'status'),
              { apiVersion: API_VERSION, kind: MINER_FLEET_KIND, metadata: { name: f.metadata.name, namespace: f.metadata.namespace }, status: next },
              COLLECTOR_FIELD_MANAGER,
              true,
              { signal: this.signal },
            );
            fs.lastWritten = { value: next, at: now };
            fs.pendingShares = zeroShares();
            this.stats.statusWrites++;
            this.m.statusWrites.inc();
          } catch (err) {
            const where = { namespace: f.metadata.namespace, fleet: f.metadata.name };
            // Pending shares stay in fleet state (and the saved state): nothing is lost either way.
            if (this.cancelled()) this.opts.logger.debug({ ...where, err }, 'collector: status write cancelled');
            else this.opts.logger.warn({ ...where, err }, 'collector: status write failed; retried next cycle');
          }
        },
      });
    }
    for (const fk of this.fleets.keys()) if (!live.has(fk)) this.fleets.delete(fk);
    await forEachLimited(pickStatusWrites(due, shareWriteBudget(fleets.size, this.opts.intervalMs, band)), 16, (d) => d.write());
  }
}
