/** One bounded HTTP GET of a JSON document (timeout, size cap, JSON only, redirects capped by fetch). */
import { redactUrl } from './value.js';

export interface HttpFetchOptions {
  timeoutMs: number;
  maxBytes: number;
}

export class FeedFetchError extends Error {
  constructor(
    message: string,
    /** worth another attempt (network error, timeout, 5xx, 429) */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export async function fetchJson(
  url: string,
  opts: HttpFetchOptions,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<unknown> {
  const where = redactUrl(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: { accept: 'application/json', connection: 'close', ...init.headers },
      body: init.body,
      redirect: 'follow', // fetch gives up after 20 redirects: a loop is an error, not a hang
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
  } catch (err) {
    throw new FeedFetchError(`${where}: ${scrub(describeFetchError(err, opts.timeoutMs), url, where)}`, true);
  }
  try {
    if (res.status >= 400) {
      throw new FeedFetchError(`${where}: HTTP ${res.status} ${res.statusText}`.trim(), res.status >= 500 || res.status === 429);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > opts.maxBytes) throw new FeedFetchError(`${where}: response of ${declared} bytes exceeds the ${opts.maxBytes}-byte cap`, false);
    const text = await readCapped(res, opts.maxBytes, where, opts.timeoutMs);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FeedFetchError(`${where}: response is not JSON (starts with ${JSON.stringify(text.slice(0, 32))})`, false);
    }
  } finally {
    if (!res.bodyUsed) await res.body?.cancel().catch(() => undefined);
  }
}

async function readCapped(res: Response, maxBytes: number, where: string, timeoutMs: number): Promise<string> {
  if (!res.body) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new FeedFetchError(`${where}: response exceeds the ${maxBytes}-byte cap`, false);
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof FeedFetchError) throw err;
    throw new FeedFetchError(`${where}: reading the response: ${scrub(describeFetchError(err, timeoutMs), res.url, where)}`, true);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause?.message ?? e?.cause?.code;
  return cause ? `${e.message}: ${cause}` : (e?.message ?? String(err));
}

/**
 * fetch's own error texts quote the URL (undici: "Request cannot be constructed from a URL that
 * includes credentials: http://user:pw@..."), and these messages reach status and logs: the raw
 * URL becomes its redacted form and any user info left is masked.
 */
export function scrub(text: string, url: string, redacted: string): string {
  const t = url ? text.split(url).join(redacted) : text;
  return t.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}
