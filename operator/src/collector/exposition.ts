import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/**
 * What the collector needs from one scrape of a miner's /metrics (the `minefleet_miner_*`
 * contract of miner/src/metrics). The text is parsed by parse-prometheus-text-format; this file
 * only picks the series out of the families.
 */
export interface MinerReading {
  /** minefleet_miner_hashes_total (summed over devices for a supervisor) */
  hashesTotal: number;
  hashrate10s: number;
  hashrate60s: number;
  /** minefleet_miner_shares_total by `pool|result|reason` (summed over devices). */
  shares: Map<string, number>;
  /** Share difficulty of the active pool (0 when unknown). */
  difficulty: number;
  activePool: string | undefined;
  /** Connection state of the active pool ('authorized', 'connecting', ...). */
  connectionState: string | undefined;
  jobAgeSeconds: number;
  /** Process start time (s since epoch): a change means the counters restarted. */
  startTimeSeconds: number | undefined;
  /**
   * A `miner supervise` pod: one reading per external device (the series' `device` label), each
   * with the process's start time. Undefined for a miner that hashes itself.
   */
  devices?: Map<string, DeviceReading>;
}

/** One external device's series, in the same shape as a miner's (so the same delta rules apply). */
export interface DeviceReading extends Omit<MinerReading, 'devices' | 'jobAgeSeconds'> {
  /** Only when the device's exporter has a job age (cgminer's API reports none): no made-up 0 in history. */
  jobAgeSeconds?: number;
  model?: string;
  up: boolean;
  /** Hottest sensor the device reports. */
  temperatureC?: number;
  powerW?: number;
}

export class ExpositionError extends Error {
  override name = 'ExpositionError';
}

export const SHARE_RESULTS = ['accepted', 'rejected', 'stale'] as const;
export type ShareResult = (typeof SHARE_RESULTS)[number];

export function shareKey(pool: string, result: string, reason: string): string {
  return `${pool}|${result}|${reason}`;
}

export function splitShareKey(key: string): { pool: string; result: string; reason: string } {
  const [pool = '', result = '', ...rest] = key.split('|');
  return { pool, result, reason: rest.join('|') };
}

function num(raw: string | undefined, what: string): number {
  const v = Number(raw);
  if (raw === undefined || Number.isNaN(v)) throw new ExpositionError(`${what}: value '${String(raw).slice(0, 40)}' is not a number`);
  return v;
}

type Family = ReturnType<typeof parsePrometheusTextFormat>[number];
type Sample = Family['metrics'][number];

const emptyReading = (): Omit<MinerReading, 'devices'> => ({
  hashesTotal: 0,
  hashrate10s: 0,
  hashrate60s: 0,
  shares: new Map(),
  difficulty: 0,
  activePool: undefined,
  connectionState: undefined,
  jobAgeSeconds: 0,
  startTimeSeconds: undefined,
});

/** The families parseMinerMetrics reads; everything else a miner exports (process_*, nodejs_*, ...) is skipped unparsed. */
const WANTED_FAMILIES = new Set([
  'minefleet_miner_hashes_total',
  'minefleet_miner_hashes',
  'minefleet_miner_hashrate_hashes_per_second',
  'minefleet_miner_shares_total',
  'minefleet_miner_shares',
  'minefleet_miner_active_pool',
  'minefleet_miner_difficulty',
  'minefleet_miner_pool_connection_state',
  'minefleet_miner_job_age_seconds',
  'minefleet_miner_device_up',
  'minefleet_miner_device_temperature_celsius',
  'minefleet_miner_device_power_watts',
  'process_start_time_seconds',
  'minefleet_miner_process_process_start_time_seconds',
]);

const WANTED_PREFIXES = ['minefleet_miner_', 'process_start_time_seconds'];

/**
 * The family a sample line (`name{...} v`, `name v`) or a `# TYPE|HELP name ...` line is about,
 * if it can be a wanted one (a cheap prefix test first: nearly every other line fails it).
 */
function wantedFamily(text: string, start: number, end: number): string | undefined {
  let i = start;
  if (text.charCodeAt(i) === 0x23 /* # */) {
    // Only TYPE and HELP comments name a family; other comments are dropped.
    if (!text.startsWith('# TYPE ', i) && !text.startsWith('# HELP ', i)) return undefined;
    i += 7;
  }
  if (!WANTED_PREFIXES.some((p) => text.startsWith(p, i))) return undefined;
  let j = i;
  while (j < end) {
    const c = text.charCodeAt(j);
    if (c === 0x20 /* space */ || c === 0x7b /* { */ || c === 0x09 /* tab */) break;
    j++;
  }
  const name = text.slice(i, j);
  return WANTED_FAMILIES.has(name) ? name : undefined;
}

/**
 * Keeps the lines of the families the collector reads (pure). A miner's /metrics is ~200 lines,
 * most of them prom-client's default process and Node.js metrics; handing only the ~30 wanted
 * lines to the parser makes a scrape several times cheaper at 10,000 pods a cycle. The wanted
 * lines reach the parser unchanged, so they are checked exactly as before.
 */
export function wantedLines(text: string): string {
  let out = '';
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (wantedFamily(text, start, end) !== undefined) out += text.slice(start, end) + '\n';
    start = end + 1;
  }
  return out;
}

/** How far a connection state is from mining (unknown states count as the worst). */
const STATE_ORDER = ['authorized', 'authorizing', 'subscribing', 'connecting', 'disconnected', 'stopped'];
function stateRank(s: string): number {
  const i = STATE_ORDER.indexOf(s);
  return i < 0 ? STATE_ORDER.length : i;
}

/** Parses a miner's (or supervisor's) exposition text; throws ExpositionError naming what is missing or malformed. */
export function parseMinerMetrics(text: string): MinerReading {
  let families: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    families = parsePrometheusTextFormat(wantedLines(text));
  } catch (err) {
    throw new ExpositionError(`not Prometheus text format: ${(err as Error).message}`);
  }
  const byName = new Map(families.map((f) => [f.name, f]));
  // prom-client writes counters as `# TYPE x_total counter` + `x_total v`; accept either spelling.
  const family = (name: string) => byName.get(name) ?? byName.get(name.replace(/_total$/, ''));
  const samples = (name: string): Sample[] => family(name)?.metrics ?? [];
  const hashes = family('minefleet_miner_hashes_total');
  // A supervisor whose devices have not answered yet has the family without samples: 0 hashes.
  if (!hashes || (hashes.metrics.length === 0 && !family('minefleet_miner_device_up')))
    throw new ExpositionError('minefleet_miner_hashes_total is missing: not a minefleet miner?');
  const supervisor = hashes.metrics.some((m) => m.labels?.device !== undefined) || family('minefleet_miner_device_up') !== undefined;
  const reading: MinerReading = emptyReading();
  const devices = new Map<string, DeviceReading>();
  const dev = (m: Sample): DeviceReading | undefined => {
    const name = m.labels?.device;
    if (name === undefined) return undefined;
    let d = devices.get(name);
    if (!d) {
      const { jobAgeSeconds: _unknownUntilExported, ...base } = emptyReading();
      devices.set(name, (d = { ...base, up: false }));
    }
    return d;
  };

  for (const m of hashes.metrics) {
    const v = num(m.value, 'minefleet_miner_hashes_total');
    reading.hashesTotal += v;
    const d = dev(m);
    if (d) d.hashesTotal += v;
  }
  // Devices report 5 s, the CPU miner 10 s: the short window is whichever the exporter has.
  let short10 = false;
  for (const m of samples('minefleet_miner_hashrate_hashes_per_second')) if (m.labels?.window === '10s') short10 = true;
  for (const m of samples('minefleet_miner_hashrate_hashes_per_second')) {
    const w = m.labels?.window;
    const d = dev(m);
    if (w === (short10 ? '10s' : '5s')) {
      const v = num(m.value, `hashrate{window="${w}"}`);
      reading.hashrate10s += v;
      if (d) d.hashrate10s += v;
    }
    if (w === '60s') {
      const v = num(m.value, 'hashrate{window="60s"}');
      reading.hashrate60s += v;
      if (d) d.hashrate60s += v;
    }
  }
  for (const m of samples('minefleet_miner_shares_total')) {
    const l = m.labels ?? {};
    const result = l.result ?? '';
    if (!(SHARE_RESULTS as readonly string[]).includes(result))
      throw new ExpositionError(`minefleet_miner_shares_total: unknown result '${result.slice(0, 40)}'`);
    const k = shareKey(l.pool ?? '', result, l.reason ?? '');
    const v = num(m.value, 'minefleet_miner_shares_total');
    // Summed: a supervisor has one series per device for the same pool|result|reason.
    reading.shares.set(k, (reading.shares.get(k) ?? 0) + v);
    const d = dev(m);
    if (d) d.shares.set(k, (d.shares.get(k) ?? 0) + v);
  }
  const poolVotes = new Map<string, number>();
  for (const m of samples('minefleet_miner_active_pool')) {
    if (num(m.value, 'active_pool') !== 1 || m.labels?.pool === undefined) continue;
    const d = dev(m);
    if (d) d.activePool = m.labels.pool;
    else reading.activePool = m.labels.pool;
    poolVotes.set(m.labels.pool, (poolVotes.get(m.labels.pool) ?? 0) + 1);
  }
  // A supervisor's pool is the one most of its devices mine on.
  if (supervisor) reading.activePool = [...poolVotes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  // Pool gauges: a miner's are about its active pool; a device's about the pool it mines on,
  // else the one it tries (the pool of its one connection-state series).
  const tries = new Map<DeviceReading, string>();
  const poolOf = (d: DeviceReading | undefined) => (d ? (d.activePool ?? tries.get(d)) : reading.activePool);
  const onPool = (d: DeviceReading | undefined, m: Sample) => {
    const pool = poolOf(d);
    return pool === undefined || m.labels?.pool === pool;
  };
  const stateVotes = new Map<string, number>();
  for (const m of samples('minefleet_miner_pool_connection_state')) {
    if (num(m.value, 'connection_state') !== 1 || m.labels?.state === undefined) continue;
    const d = dev(m);
    if (!onPool(d, m)) continue;
    if (d) {
      d.connectionState = m.labels.state;
      if (d.activePool === undefined && m.labels.pool !== undefined) tries.set(d, m.labels.pool);
      stateVotes.set(m.labels.state, (stateVotes.get(m.labels.state) ?? 0) + 1);
    } else reading.connectionState = m.labels.state;
  }
  // A supervisor's state is the one most of its devices are in; a tie goes to the worse one
  // (the further from authorized), so a half-broken pod does not look healthy.
  if (supervisor) reading.connectionState = [...stateVotes].sort((a, b) => b[1] - a[1] || stateRank(b[0]) - stateRank(a[0]))[0]?.[0];
  for (const m of samples('minefleet_miner_difficulty')) {
    const v = num(m.value, 'difficulty');
    const d = dev(m);
    if (!onPool(d, m)) continue;
    if (!d) reading.difficulty = v;
    else {
      d.difficulty = v;
      // The pod's: the highest among its devices on the pod's pool (vardiff raises each device
      // on its own; the highest is the pool's current word for the fastest of them).
      if (m.labels?.pool === reading.activePool) reading.difficulty = Math.max(reading.difficulty, v);
    }
  }
  for (const m of samples('minefleet_miner_job_age_seconds')) {
    const v = num(m.value, 'job_age_seconds');
    const d = dev(m);
    if (d) {
      d.jobAgeSeconds = v;
      reading.jobAgeSeconds = Math.max(reading.jobAgeSeconds, v); // the pod's oldest job
    } else reading.jobAgeSeconds = v;
  }
  for (const m of samples('minefleet_miner_device_up')) {
    const d = dev(m);
    if (!d) continue;
    d.up = num(m.value, 'device_up') === 1;
    if (m.labels?.model) d.model = m.labels.model;
  }
  for (const m of samples('minefleet_miner_device_temperature_celsius')) {
    const d = dev(m);
    const v = num(m.value, 'device_temperature_celsius');
    if (d && Number.isFinite(v)) d.temperatureC = Math.max(d.temperatureC ?? -Infinity, v);
  }
  for (const m of samples('minefleet_miner_device_power_watts')) {
    const d = dev(m);
    const v = num(m.value, 'device_power_watts');
    if (d && Number.isFinite(v) && v >= 0) d.powerW = v;
  }
  // process_start_time_seconds; miners before the unprefixed default metrics exported it doubly prefixed.
  const start = (family('process_start_time_seconds') ?? family('minefleet_miner_process_process_start_time_seconds'))?.metrics[0];
  if (start) reading.startTimeSeconds = num(start.value, 'process_start_time_seconds');
  if (supervisor) {
    for (const d of devices.values()) d.startTimeSeconds = reading.startTimeSeconds;
    reading.devices = devices;
  }
  return reading;
}
