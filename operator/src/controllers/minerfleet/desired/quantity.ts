/**
 * Just enough of Kubernetes resource quantities: their value (to derive threads from a CPU limit
 * and to keep a request below its limit) and their canonical spelling. The API server stores every
 * quantity canonically (`1000m` becomes `1`, `2048Ki` becomes `2Mi`); writing the canonical form
 * ourselves keeps the desired Deployment equal to what the server returns, so the reconciler's
 * "already up to date" check holds and a steady state costs no writes.
 */
const QUANTITY = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;
const DECIMAL_EXPONENT: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX: Record<number, string> = Object.fromEntries(Object.entries(DECIMAL_EXPONENT).map(([s, e]) => [e, s]));

interface Parsed {
  negative: boolean;
  /** value = mantissa × 10^exp10 × 1024^exp1024 */
  mantissa: bigint;
  exp10: number;
  exp1024: number;
  format: 'BinarySI' | 'DecimalSI' | 'DecimalExponent';
}

function parse(q: string): Parsed {
  const m = QUANTITY.exec(q.trim());
  const int = m?.[2] ?? '';
  const frac = m?.[3] ?? '';
  if (!m || (int === '' && frac === '')) throw new Error(`"${q}" is not a resource quantity (e.g. 500m, 2, 256Mi)`);
  const suffix = m[4] ?? '';
  const mantissa = BigInt(`${int}${frac}` || '0');
  let exp10 = -frac.length;
  let exp1024 = 0;
  let format: Parsed['format'] = 'DecimalSI';
  const binary = BINARY_SUFFIXES.indexOf(suffix as (typeof BINARY_SUFFIXES)[number]);
  if (suffix !== '' && binary > 0) {
    exp1024 = binary;
    format = 'BinarySI';
  } else if (suffix.length > 1 && /^[eE]/.test(suffix)) {
    // (`E` alone is the exa suffix; an exponent has digits after the e.)
    exp10 += Number(suffix.slice(1));
    format = 'DecimalExponent';
  } else {
    exp10 += DECIMAL_EXPONENT[suffix] ?? 0;
  }
  return { negative: m[1] === '-' && mantissa !== 0n, mantissa, exp10, exp1024, format };
}

/** The numeric value of a quantity (`500m` → 0.5, `1Gi` → 1073741824); throws on a malformed one. */
export function quantityValue(q: string | number): number {
  if (typeof q === 'number') return q;
  const p = parse(q);
  return (p.negative ? -1 : 1) * Number(p.mantissa) * 10 ** p.exp10 * 1024 ** p.exp1024;
}

const pow = (b: bigint, e: number): bigint => b ** BigInt(e);

/**
 * The spelling the API server stores for a container resource quantity (apimachinery
 * Quantity.String after the pod's round-up to 1m). Mirrors the observable rules:
 * - values are rounded up to a whole milli-unit (`1n` becomes `1m`);
 * - a decimal quantity already in canonical shape (exponent a multiple of 3, digits neither
 *   starting with 0 nor ending in 000) keeps the user's spelling (`1E6`, `5.`);
 * - otherwise binary quantities of at least 1024 that are whole numbers keep a binary suffix (the
 *   largest that divides them), and everything else gets the largest decimal SI suffix (or
 *   e-exponent) that keeps the mantissa whole.
 * Checked against kube-apiserver 1.33 (see test/desired/quantity.test.ts). A spelling this misses
 * only costs the reconciler a no-op apply per reconcile, never a wrong value.
 */
export function canonicalQuantity(q: string | number): string {
  const text = typeof q === 'number' ? String(q) : q.trim();
  let p: Parsed;
  try {
    p = parse(text);
  } catch {
    return text;
  }
  if (p.format !== 'BinarySI') {
    const m = QUANTITY.exec(text)!;
    const shifted = `${m[2] ?? ''}${m[3] ?? ''}`;
    const scale = p.exp10;
    if (m[1] !== '-' && scale % 3 === 0 && scale >= -3 && shifted.length <= 18 && shifted[0] !== '0' && !shifted.endsWith('000')) return text;
  }
  // The absolute value in milli-units, rounded up (away from zero) like the server does.
  const milliExp = p.exp10 + 3;
  let num = p.mantissa * pow(1024n, p.exp1024);
  if (milliExp >= 0) num *= pow(10n, milliExp);
  else {
    const div = pow(10n, -milliExp);
    num = num / div + (num % div === 0n ? 0n : 1n);
  }
  const sign = p.negative ? '-' : '';
  if (num === 0n) return '0';
  const MILLI = 1000n;
  let format = p.format;
  if (format === 'BinarySI') {
    const whole = num % MILLI === 0n ? num / MILLI : undefined;
    if (whole === undefined || whole < 1024n) format = 'DecimalSI';
    else {
      let k = 0;
      let v = whole;
      while (k < BINARY_SUFFIXES.length - 1 && v % 1024n === 0n) {
        v /= 1024n;
        k++;
      }
      return `${sign}${v}${BINARY_SUFFIXES[k]}`;
    }
  }
  // Largest exponent (multiple of 3, from -3) that keeps the mantissa whole.
  let e = -3;
  let v = num;
  while (v % 1000n === 0n && (format === 'DecimalExponent' || e < 18)) {
    v /= 1000n;
    e += 3;
  }
  if (format === 'DecimalExponent') return e === 0 ? `${sign}${v}` : `${sign}${v}e${e}`;
  return `${sign}${v}${DECIMAL_SUFFIX[e] ?? ''}`;
}

/** A quantity as we write it: canonical, and always a string. */
export function quantityString(q: string | number): string {
  return canonicalQuantity(q);
}
