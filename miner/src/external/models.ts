/**
 * Per-model facts the supervisor and the emulator share: which unit the hashrate keys really
 * carry, and which reply quirks the firmware shows. Scrypt ASICs built on SHA-256 firmware
 * (Antminer L3+/L7/L9) report MH/s under keys named "GHS 5s"/"GHS av"; others mean what the key
 * says. The table maps a key's prefix (KHS, MHS, GHS, THS) to the factor that gives H/s.
 */

/**
 * Reply quirks of real firmware: a NUL after the reply, `}{` between the records of STATS
 * (bmminer), `,}` trailing commas, bare inf/nan numbers, and replies cut short when the device is
 * busy (`truncated`: the emulator cuts every Nth reply, deterministically, see --truncate-every).
 * No shipped model has `truncated` by default: it makes requests fail, which only the tests that
 * ask for it want.
 */
export const QUIRKS = ['trailing-nul', 'brace-join', 'trailing-comma', 'inf-nan', 'truncated'] as const;
export type Quirk = (typeof QUIRKS)[number];

export type RatePrefix = 'KHS' | 'MHS' | 'GHS' | 'THS';

export interface ModelInfo {
  /** Stable id used in config (`model:`) and by the emulator (`--model`). */
  id: string;
  /** What the device calls itself in `stats` Type / `version` (matched case-insensitively). */
  names: string[];
  /** H/s per unit of each key prefix as this firmware reports it. */
  rateFactor: Record<RatePrefix, number>;
  /** The prefix this firmware writes its rates under. */
  reportsAs: RatePrefix;
  /** Quirks of its API replies. */
  quirks: Quirk[];
  /** Nameplate figures, for the emulator's defaults (its real hashrate is what it mines). */
  chains: number;
  wattsFull: number;
  wattsIdle: number;
  /** Chip temperature above which the firmware throttles. */
  throttleCelsius: number;
  kind: 'ASC' | 'PGA' | 'GPU';
}

const HONEST: Record<RatePrefix, number> = { KHS: 1e3, MHS: 1e6, GHS: 1e9, THS: 1e12 };
/** Scrypt firmware on SHA-256 code: "GHS" keys carry MH/s (and "MHS" keys kH/s). */
const SHIFTED: Record<RatePrefix, number> = { KHS: 1, MHS: 1e3, GHS: 1e6, THS: 1e9 };

export const MODELS: ModelInfo[] = [
  {
    id: 'antminer-l3plus',
    names: ['Antminer L3+', 'Antminer L3'],
    rateFactor: SHIFTED,
    reportsAs: 'GHS',
    quirks: ['trailing-nul', 'brace-join', 'trailing-comma'],
    chains: 4,
    wattsFull: 800,
    wattsIdle: 40,
    throttleCelsius: 85,
    kind: 'ASC',
  },
  {
    id: 'antminer-l7',
    names: ['Antminer L7'],
    rateFactor: SHIFTED,
    reportsAs: 'GHS',
    quirks: ['trailing-nul', 'brace-join'],
    chains: 3,
    wattsFull: 3425,
    wattsIdle: 60,
    throttleCelsius: 90,
    kind: 'ASC',
  },
  {
    id: 'goldshell-lt5',
    names: ['Goldshell LT5', 'LT5'],
    rateFactor: HONEST,
    reportsAs: 'MHS',
    quirks: ['trailing-nul', 'inf-nan'],
    chains: 3,
    wattsFull: 2080,
    wattsIdle: 50,
    throttleCelsius: 85,
    kind: 'ASC',
  },
  {
    id: 'elphapex-dg1',
    names: ['Elphapex DG1', 'DG1'],
    rateFactor: HONEST,
    reportsAs: 'GHS',
    quirks: ['trailing-nul', 'trailing-comma'],
    chains: 3,
    wattsFull: 3920,
    wattsIdle: 60,
    throttleCelsius: 90,
    kind: 'ASC',
  },
  {
    id: 'usb-stick',
    names: ['GekkoScience', 'USB stick'],
    rateFactor: HONEST,
    reportsAs: 'KHS',
    quirks: ['trailing-nul'],
    chains: 1,
    wattsFull: 10,
    wattsIdle: 2,
    throttleCelsius: 80,
    kind: 'PGA',
  },
  {
    id: 'generic',
    names: ['cgminer', 'sgminer', 'bfgminer'],
    rateFactor: HONEST,
    reportsAs: 'MHS',
    quirks: [],
    chains: 1,
    wattsFull: 200,
    wattsIdle: 20,
    throttleCelsius: 85,
    kind: 'GPU',
  },
];

export function modelById(id: string): ModelInfo | undefined {
  return MODELS.find((m) => m.id === id);
}

/** The model a device names itself as (stats Type, version Type/Miner), else undefined. */
export function detectModel(selfName: string | undefined): ModelInfo | undefined {
  if (!selfName) return undefined;
  const s = selfName.toLowerCase();
  // Longest name first so "Antminer L3+" is not taken for a shorter match.
  const pairs = MODELS.flatMap((m) => m.names.map((n) => [n.toLowerCase(), m] as const)).sort((a, b) => b[0].length - a[0].length);
  return pairs.find(([n]) => s.includes(n))?.[1];
}

/**
 * Hashrate in H/s from a record, reading the first key present among `<PREFIX> <window>`
 * (e.g. "GHS 5s", "MHS av"); undefined when none is a finite number.
 */
export function rateFrom(rec: Record<string, unknown>, window: string, model: ModelInfo): number | undefined {
  for (const p of ['THS', 'GHS', 'MHS', 'KHS'] as RatePrefix[]) {
    const v = rec[`${p} ${window}`];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (Number.isFinite(n)) return n * model.rateFactor[p];
  }
  return undefined;
}
