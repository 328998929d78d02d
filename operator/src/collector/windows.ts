import type { RollupDoc, SampleDoc } from '../store/index.js';
import { splitShareKey, type ShareResult } from './exposition.js';

/** One pod's increments and last gauges, as one scrape saw them. */
export interface PodObservation {
  namespace: string;
  fleet: string;
  pod: string;
  podUid: string;
  node?: string;
  at: number;
  hashes: number;
  /** by `pool|result|reason` */
  shares: Map<string, number>;
  pool: string | undefined;
  difficulty: number;
  hashrate10s: number;
  hashrate60s: number;
  connectionState: string | undefined;
  /** Undefined when the exporter has none (a supervised device): the sample then has none either. */
  jobAgeSeconds: number | undefined;
  retentionDays?: number;
  /** Set for one external device of a supervisor pod: its sample is its own row. */
  device?: DeviceInfo;
}

/** What a sample says about the external device it describes. */
export interface DeviceInfo {
  name: string;
  kind?: 'cpu' | 'gpu' | 'usb' | 'network';
  model?: string;
  temperatureC?: number;
  powerW?: number;
}

interface PodAcc {
  namespace: string;
  fleet: string;
  pod: string;
  podUids: Set<string>;
  node?: string;
  hashes: number;
  shares: { accepted: number; rejected: number; stale: number };
  reasons: Map<string, number>;
  pool: string | undefined;
  difficulty: number;
  hashrate10s: number;
  hashrate60s: number;
  connectionState: string | undefined;
  jobAgeSeconds: number | undefined;
  retentionDays?: number;
  device?: DeviceInfo;
}

export interface ClosedWindow {
  samples: SampleDoc[];
  rollups: RollupDoc[];
}

export function windowStartOf(at: number, windowSeconds: number): number {
  const w = windowSeconds * 1000;
  return Math.floor(at / w) * w;
}

/**
 * Per-window accumulation (pure state, no I/O). An observation belongs to the window that holds
 * its scrape time; a window is closed (samples per pod, one rollup per fleet) once `graceMs` has
 * passed after its end, so late scrapes of the cycle still land in it. Keys are (namespace, fleet,
 * pod, windowStart): a pod recreated under the same name inside one window (StatefulSet-style) is
 * one sample with both UIDs, so the idempotent key never hides data. A pod deleted mid-window
 * keeps what it contributed: the window still closes with it.
 */
export class WindowAccumulator {
  private readonly open = new Map<number, Map<string, PodAcc>>();

  constructor(
    readonly windowSeconds: number,
    readonly graceMs: number,
  ) {}

  add(o: PodObservation): void {
    const ws = windowStartOf(o.at, this.windowSeconds);
    let pods = this.open.get(ws);
    if (!pods) this.open.set(ws, (pods = new Map<string, PodAcc>()));
    const key = o.device ? `${o.namespace}/${o.fleet}/${o.pod}/${o.device.name}` : `${o.namespace}/${o.fleet}/${o.pod}`;
    let acc = pods.get(key);
    if (!acc) {
      acc = {
        namespace: o.namespace,
        fleet: o.fleet,
        pod: o.pod,
        podUids: new Set(),
        hashes: 0,
        shares: { accepted: 0, rejected: 0, stale: 0 },
        reasons: new Map(),
        pool: undefined,
        difficulty: 0,
        hashrate10s: 0,
        hashrate60s: 0,
        connectionState: undefined,
        jobAgeSeconds: undefined,
      };
      pods.set(key, acc);
    }
    acc.podUids.add(o.podUid);
    if (o.node) acc.node = o.node;
    acc.hashes += o.hashes;
    for (const [k, n] of o.shares) {
      const { result, reason } = splitShareKey(k);
      acc.shares[result as ShareResult] += n;
      if (result !== 'accepted') acc.reasons.set(reason || 'unknown', (acc.reasons.get(reason || 'unknown') ?? 0) + n);
    }
    if (o.pool) acc.pool = o.pool;
    acc.difficulty = o.difficulty;
    acc.hashrate10s = o.hashrate10s;
    acc.hashrate60s = o.hashrate60s;
    acc.connectionState = o.connectionState;
    acc.jobAgeSeconds = o.jobAgeSeconds;
    if (o.retentionDays !== undefined) acc.retentionDays = o.retentionDays;
    if (o.device) acc.device = { ...acc.device, ...o.device }; // last reading wins, sensors absent this time kept
  }

  /** Open windows as JSON-able data, so a restarted operator continues them (see Collector state). */
  export(): unknown {
    return [...this.open].map(([ws, pods]) => [ws, [...pods].map(([k, a]) => [k, { ...a, podUids: [...a.podUids], reasons: [...a.reasons] }])]);
  }

  import(data: unknown): void {
    for (const [ws, pods] of data as Array<[number, Array<[string, PodAcc & { podUids: string[]; reasons: Array<[string, number]> }]>]>) {
      const m = new Map<string, PodAcc>();
      for (const [k, a] of pods) m.set(k, { ...a, podUids: new Set(a.podUids), reasons: new Map(a.reasons) });
      this.open.set(ws, m);
    }
  }

  get openWindows(): number {
    return this.open.size;
  }

  /** Closes every window whose end + grace is at or before `now` (all of them with `all`). */
  close(now: number, all = false): ClosedWindow {
    const out: ClosedWindow = { samples: [], rollups: [] };
    const w = this.windowSeconds * 1000;
    for (const ws of [...this.open.keys()].sort((a, b) => a - b)) {
      if (!all && ws + w + this.graceMs > now) continue;
      const pods = this.open.get(ws)!;
      this.open.delete(ws);
      const fleets = new Map<string, RollupDoc & { poolVotes: Map<string, number>; podNames: Set<string> }>();
      for (const acc of pods.values()) {
        const windowStart = new Date(ws);
        const sample: SampleDoc = {
          namespace: acc.namespace,
          fleet: acc.fleet,
          pod: acc.pod,
          ...(acc.device ? { deviceName: acc.device.name } : {}),
          podUids: [...acc.podUids].sort(),
          ...(acc.node ? { node: acc.node } : {}),
          windowStart,
          windowSeconds: this.windowSeconds,
          pool: acc.pool ?? 'unknown',
          hashrate: acc.hashes / this.windowSeconds,
          hashrate10s: acc.hashrate10s,
          hashrate60s: acc.hashrate60s,
          shares: { ...acc.shares },
          ...(acc.reasons.size > 0 ? { reasons: Object.fromEntries(acc.reasons) } : {}),
          difficulty: acc.difficulty,
          ...(acc.connectionState ? { connectionState: acc.connectionState } : {}),
          ...(acc.jobAgeSeconds !== undefined ? { jobAgeSeconds: acc.jobAgeSeconds } : {}),
          ...(acc.retentionDays !== undefined ? { retentionDays: acc.retentionDays } : {}),
          ...(acc.device ? { device: sampleDevice(acc.device) } : {}),
        };
        out.samples.push(sample);
        const fk = `${acc.namespace}/${acc.fleet}`;
        let r = fleets.get(fk);
        if (!r) {
          r = {
            namespace: acc.namespace,
            fleet: acc.fleet,
            windowStart,
            windowSeconds: this.windowSeconds,
            pods: 0,
            hashrate: 0,
            shares: { accepted: 0, rejected: 0, stale: 0 },
            poolVotes: new Map(),
            podNames: new Set(),
            ...(acc.retentionDays !== undefined ? { retentionDays: acc.retentionDays } : {}),
          };
          fleets.set(fk, r);
        }
        // Pods, not devices: a supervisor pod with many devices is one pod.
        r.podNames.add(acc.pod);
        r.pods = r.podNames.size;
        if (acc.device?.powerW !== undefined) r.powerW = (r.powerW ?? 0) + acc.device.powerW;
        r.hashrate += sample.hashrate;
        r.shares.accepted += acc.shares.accepted;
        r.shares.rejected += acc.shares.rejected;
        r.shares.stale += acc.shares.stale;
        if (acc.pool) r.poolVotes.set(acc.pool, (r.poolVotes.get(acc.pool) ?? 0) + 1);
      }
      for (const { poolVotes, podNames: _pods, ...r } of fleets.values()) {
        const top = [...poolVotes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
        out.rollups.push(top ? { ...r, activePool: top[0] } : r);
      }
    }
    return out;
  }
}

/** The sample's device object (kind defaults to network: the devices a supervisor reaches over the API). */
function sampleDevice(d: DeviceInfo): NonNullable<SampleDoc['device']> {
  return {
    kind: d.kind ?? 'network',
    ...(d.model ? { model: d.model.slice(0, 64) } : {}),
    ...(d.temperatureC !== undefined && d.temperatureC >= -100 && d.temperatureC <= 300 ? { temperatureC: d.temperatureC } : {}),
    ...(d.powerW !== undefined ? { powerW: d.powerW } : {}),
  };
}
