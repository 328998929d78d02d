/**
 * One device's state, normalised from its summary/pools/devs/stats replies: H/s whatever the
 * firmware's key names say, counters as numbers, sensors as lists. Pure, so every quirk of a
 * model is a unit test.
 */
import { detectModel, modelById, rateFrom, type ModelInfo } from './models.js';
import type { CgReply } from './reply.js';

export interface DevicePool {
  id: number;
  url: string;
  user: string;
  status: string; // Alive | Dead | Disabled | ...
  priority: number;
  active: boolean;
  accepted: number;
  rejected: number;
  stale: number;
  /**
   * Share difficulty on this pool as the device reports it (scrypt convention, the number the
   * pool sent in mining.set_difficulty): "Stratum Difficulty", else "Work Difficulty", else
   * "Last Share Difficulty", the first that is a positive number; undefined when none is (a
   * device that never reports it, or a pool it has not mined on yet).
   */
  difficulty?: number;
  /** True when the reply has a "Stratum Active" field at all (else `active` says nothing). */
  reportsActive?: boolean;
  /** "Get Failures": cgminer counts each interrupted stratum connection (and failed getwork). */
  getFailures?: number;
}

export interface DeviceUnit {
  kind: 'ASC' | 'PGA' | 'GPU';
  id: number;
  enabled: boolean;
  status: string;
}

export interface DeviceSnapshot {
  model: ModelInfo;
  rate5s: number;
  rateAv: number;
  /**
   * Hashes done since the device (re)started, as the device counts them: summary "Total MH"
   * (cgminer's own cumulative counter, in the firmware's units like the rate keys), else
   * "MHS av" x "Elapsed" (the device's average over its uptime: the same count, rounded);
   * undefined when the device reports neither.
   */
  totalHashes?: number;
  /** summary "Elapsed": seconds since the device's miner (re)started. */
  elapsedSeconds?: number;
  accepted: number;
  rejected: number;
  stale: number;
  hardwareErrors: number;
  /** summary "Found Blocks": block candidates found since the device (re)started. */
  foundBlocks?: number;
  pools: DevicePool[];
  units: DeviceUnit[];
  temperatures: Array<{ sensor: string; celsius: number }>;
  fans: Array<{ fan: string; rpm: number }>;
  chains: Array<{ chain: string; rate: number }>;
  powerWatts?: number;
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : 0;
}

function maybeNum(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

function positive(v: unknown): number | undefined {
  const n = maybeNum(v);
  return n !== undefined && n > 0 ? n : undefined;
}

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === 'Y' || v === 'y' || v === 1;
}

/** The model: configured id wins, else what the device calls itself, else generic cgminer. */
export function resolveModel(configured: string | undefined, stats: CgReply | undefined, version: CgReply | undefined): ModelInfo {
  if (configured) {
    const m = modelById(configured);
    if (m) return m;
  }
  const names = [...(stats?.STATS ?? []), ...(version?.VERSION ?? [])].flatMap((r) => [str(r.Type), str(r.Miner), str(r.Model)]);
  for (const n of names) {
    const m = detectModel(n);
    if (m) return m;
  }
  return modelById('generic')!;
}

export function parsePools(reply: CgReply): DevicePool[] {
  return (reply.POOLS ?? []).map((p) => {
    const difficulty = positive(p['Stratum Difficulty']) ?? positive(p['Work Difficulty']) ?? positive(p['Last Share Difficulty']);
    const getFailures = maybeNum(p['Get Failures']);
    return {
      id: num(p.POOL),
      url: str(p.URL),
      user: str(p.User),
      status: str(p.Status),
      priority: num(p.Priority),
      active: truthy(p['Stratum Active']),
      accepted: num(p.Accepted),
      rejected: num(p.Rejected),
      stale: num(p.Stale),
      ...(difficulty !== undefined ? { difficulty } : {}),
      ...(p['Stratum Active'] !== undefined ? { reportsActive: true } : {}),
      ...(getFailures !== undefined && getFailures >= 0 ? { getFailures } : {}),
    };
  });
}

export function parseUnits(reply: CgReply): DeviceUnit[] {
  const out: DeviceUnit[] = [];
  for (const d of reply.DEVS ?? []) {
    for (const kind of ['ASC', 'PGA', 'GPU'] as const) {
      if (d[kind] !== undefined) {
        out.push({ kind, id: num(d[kind]), enabled: truthy(d.Enabled), status: str(d.Status) });
        break;
      }
    }
  }
  return out;
}

export function parseSensors(stats: CgReply | undefined, model: ModelInfo): Pick<DeviceSnapshot, 'temperatures' | 'fans' | 'chains' | 'powerWatts'> {
  const temperatures: DeviceSnapshot['temperatures'] = [];
  const fans: DeviceSnapshot['fans'] = [];
  const chains: DeviceSnapshot['chains'] = [];
  let powerWatts: number | undefined;
  for (const rec of stats?.STATS ?? []) {
    for (const [k, v] of Object.entries(rec)) {
      const n = maybeNum(v);
      if (n === undefined) continue;
      let m: RegExpExecArray | null;
      if ((m = /^temp(\d+|_chip\d*|_pcb\d*)$/i.exec(k)) && n > 0) temperatures.push({ sensor: m[1]!.replace(/^_/, ''), celsius: n });
      else if ((m = /^fan(\d+)$/i.exec(k)) && n > 0) fans.push({ fan: m[1]!, rpm: n });
      else if ((m = /^chain_rate(\d+)$/i.exec(k))) chains.push({ chain: m[1]!, rate: n * model.rateFactor[model.reportsAs] });
      else if (/^(power|chain_power|Power)$/.test(k)) powerWatts = n;
    }
  }
  return { temperatures, fans, chains, ...(powerWatts !== undefined ? { powerWatts } : {}) };
}

/** The device's own cumulative hash count (see DeviceSnapshot.totalHashes). */
export function totalHashesFrom(s: Record<string, unknown>, model: ModelInfo): number | undefined {
  for (const p of ['THS', 'GHS', 'MHS', 'KHS'] as const) {
    const total = maybeNum(s[`Total ${p.slice(0, 1)}H`]);
    if (total !== undefined && total >= 0) return total * model.rateFactor[p];
  }
  const elapsed = maybeNum(s.Elapsed);
  const av = rateFrom(s, 'av', model);
  return elapsed !== undefined && av !== undefined && elapsed >= 0 && av >= 0 ? av * elapsed : undefined;
}

export function buildSnapshot(input: { model: ModelInfo; summary: CgReply; pools: CgReply; devs: CgReply; stats?: CgReply }): DeviceSnapshot {
  const s = input.summary.SUMMARY?.[0] ?? {};
  const totalHashes = totalHashesFrom(s, input.model);
  const elapsed = maybeNum(s.Elapsed);
  const foundBlocks = maybeNum(s['Found Blocks']);
  return {
    model: input.model,
    rate5s: rateFrom(s, '5s', input.model) ?? 0,
    rateAv: rateFrom(s, 'av', input.model) ?? 0,
    ...(totalHashes !== undefined ? { totalHashes } : {}),
    ...(elapsed !== undefined && elapsed >= 0 ? { elapsedSeconds: elapsed } : {}),
    accepted: num(s.Accepted),
    rejected: num(s.Rejected),
    stale: num(s.Stale),
    hardwareErrors: num(s['Hardware Errors']),
    ...(foundBlocks !== undefined && foundBlocks >= 0 ? { foundBlocks } : {}),
    pools: parsePools(input.pools),
    units: parseUnits(input.devs),
    ...parseSensors(input.stats, input.model),
  };
}
