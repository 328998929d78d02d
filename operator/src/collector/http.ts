import { Agent, request } from 'node:http';

/**
 * The collector's HTTP client for miner pods. node:http rather than fetch: fetch keeps a
 * connection pool per origin, and with one origin per pod (10,000 of them) that cost ~3x the CPU
 * per scrape and held well over 100 MiB (bench/collector.bench.ts, measured on loopback). Kept
 * alive so /shares reuses the socket /metrics just used; an idle socket is closed after
 * IDLE_SOCKET_MS, so no idle sockets pile up between cycles (the miner's server drops idle
 * connections after 5 s anyway, well before the next 15 s cycle could reuse them). Sockets in
 * use are bounded by the collector's concurrency.
 */
export class ScrapeClient {
  static readonly IDLE_SOCKET_MS = 1000;
  private readonly agent = new Agent({ keepAlive: true, timeout: ScrapeClient.IDLE_SOCKET_MS });

  get(url: string, timeoutMs: number, maxBytes: number, signal?: AbortSignal): Promise<string> {
    return boundedGet(url, timeoutMs, maxBytes, signal, this.agent);
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * GET with a deadline and a size bound, cancelled early by `signal`; throws an Error saying which
 * of them failed (the socket error as its cause). http: URLs only (pod IPs).
 */
export function boundedGet(url: string, timeoutMs: number, maxBytes: number, signal?: AbortSignal, agent?: Agent): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new Error('cancelled', { cause: signal.reason }));
      return;
    }
    let settled = false;
    const finish = (err: Error | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(text!);
    };
    const onAbort = () => finish(new Error('cancelled', { cause: signal?.reason }));
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const req = request(url, { method: 'GET', ...(agent ? { agent } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish(new Error(`HTTP ${res.statusCode ?? 'without status'}`));
        return;
      }
      const len = Number(res.headers['content-length'] ?? 0);
      if (len > maxBytes) {
        finish(new Error(`response of ${len} bytes exceeds ${maxBytes}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) finish(new Error(`response exceeds ${maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => finish(undefined, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      res.on('error', (err) => finish(new Error(err.message, { cause: err })));
    });
    req.on('error', (err: NodeJS.ErrnoException) => finish(new Error(err.code ?? err.message, { cause: err })));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end();
  });
}

/** Runs fn over items with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
