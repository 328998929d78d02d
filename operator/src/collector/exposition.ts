import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/**
 * What the collector needs from one scrape of a miner's /metrics (the `minefleet_miner_*`
 * contract of miner/src/metrics). The text is parsed by parse-prometheus-text-format; this file
 * only picks the series out of the families.
 */
export interface MinerReading {
  /** minefleet_miner_hashes_total */
  hashesTotal: number;
  hashrate10s: number;
  hashrate60s: number;
  /** minefleet_miner_shares_total by `pool|result|reason`. */
  shares: Map<string, number>;
  /** Share difficulty of the active pool (0 when unknown). */
  difficulty: number;
  activePool: string | undefined;
  /** Connection state of the active pool ('authorized', 'connecting', ...). */
  connectionState: string | undefined;
  jobAgeSeconds: number;
  /** Process start time (s since epoch): a change means the counters restarted. */
  startTimeSeconds: number | undefined;
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

/** Parses a miner's exposition text; throws ExpositionError naming what is missing or malformed. */
export function parseMinerMetrics(text: string): MinerReading {
  let families: ReturnType<typeof parsePrometheusTextFormat>;
  try {
    families = parsePrometheusTextFormat(text);
  } catch (err) {
    throw new ExpositionError(`not Prometheus text format: ${(err as Error).message}`);
  }
  const byName = new Map(families.map((f) => [f.name, f]));
  // prom-client writes counters as `# TYPE x_total counter` + `x_total v`; accept either spelling.
  const family = (name: string) => byName.get(name) ?? byName.get(name.replace(/_total$/, ''));
  const hashes = family('minefleet_miner_hashes_total');
  if (!hashes || hashes.metrics.length === 0) throw new ExpositionError('minefleet_miner_hashes_total is missing: not a minefleet miner?');
  const reading: MinerReading = {
    hashesTotal: num(hashes.metrics[0]!.value, 'minefleet_miner_hashes_total'),
    hashrate10s: 0,
    hashrate60s: 0,
    shares: new Map(),
    difficulty: 0,
    activePool: undefined,
    connectionState: undefined,
    jobAgeSeconds: 0,
    startTimeSeconds: undefined,
  };
  for (const m of family('minefleet_miner_hashrate_hashes_per_second')?.metrics ?? []) {
    const w = m.labels?.window;
    if (w === '10s') reading.hashrate10s = num(m.value, 'hashrate{window="10s"}');
    if (w === '60s') reading.hashrate60s = num(m.value, 'hashrate{window="60s"}');
  }
  for (const m of family('minefleet_miner_shares_total')?.metrics ?? []) {
    const l = m.labels ?? {};
    const result = l.result ?? '';
    if (!(SHARE_RESULTS as readonly string[]).includes(result))
      throw new ExpositionError(`minefleet_miner_shares_total: unknown result '${result.slice(0, 40)}'`);
    reading.shares.set(shareKey(l.pool ?? '', result, l.reason ?? ''), num(m.value, 'minefleet_miner_shares_total'));
  }
  for (const m of family('minefleet_miner_active_pool')?.metrics ?? []) if (num(m.value, 'active_pool') === 1) reading.activePool = m.labels?.pool;
  for (const m of family('minefleet_miner_difficulty')?.metrics ?? []) {
    if (reading.activePool === undefined || m.labels?.pool === reading.activePool) reading.difficulty = num(m.value, 'difficulty');
  }
  for (const m of family('minefleet_miner_pool_connection_state')?.metrics ?? []) {
    if (num(m.value, 'connection_state') === 1 && (reading.activePool === undefined || m.labels?.pool === reading.activePool))
      reading.connectionState = m.labels?.state;
  }
  const age = family('minefleet_miner_job_age_seconds')?.metrics[0];
  if (age) reading.jobAgeSeconds = num(age.value, 'job_age_seconds');
  // process_start_time_seconds; miners before the unprefixed default metrics exported it doubly prefixed.
  const start = (family('process_start_time_seconds') ?? family('minefleet_miner_process_process_start_time_seconds'))?.metrics[0];
  if (start) reading.startTimeSeconds = num(start.value, 'process_start_time_seconds');
  return reading;
}
