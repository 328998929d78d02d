/**
 * What a feed value must be: a finite positive JSON number within a plausible bound. A bad value
 * is an error naming what is wrong; it never reaches the revenue formula.
 */
export type FeedKind = 'price' | 'difficulty' | 'blockReward';

/**
 * Upper bounds far above any real value (LTC difficulty is ~1e7-1e8, Bitcoin's ~1e14; a coin price
 * above 1e9 or a block reward above 1e12 coins is a broken feed). They keep 1e308-style answers
 * from overflowing the arithmetic to Infinity.
 */
export const FEED_MAX: Record<FeedKind, number> = { price: 1e9, difficulty: 1e18, blockReward: 1e12 };

export class FeedValueError extends Error {}

export function checkFeedValue(kind: FeedKind, v: unknown, what: string): number {
  if (typeof v === 'string') throw new FeedValueError(`${what} is a string (${JSON.stringify(v.slice(0, 40))}), not a JSON number`);
  if (typeof v !== 'number') throw new FeedValueError(`${what} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}, not a number`);
  if (!Number.isFinite(v)) throw new FeedValueError(`${what} is ${v}, not a finite number`);
  if (v <= 0) throw new FeedValueError(`${what} is ${v}; a ${kind} must be positive`);
  if (v > FEED_MAX[kind]) throw new FeedValueError(`${what} is ${v}, above the plausible maximum ${FEED_MAX[kind]} for a ${kind}`);
  return v;
}

/** scheme://host/path of a URL: query strings and user info may carry API keys and never appear in status, logs or metrics. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
