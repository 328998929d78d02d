/**
 * GET with a deadline and a size bound, cancelled early by `signal`; throws an Error saying which
 * of them failed (the fetch error as its cause).
 */
export async function boundedGet(url: string, timeoutMs: number, maxBytes: number, signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout }).catch((err: unknown) => {
    const e = err as Error & { cause?: { code?: string } };
    if (signal?.aborted) throw new Error('cancelled', { cause: err });
    throw new Error(timeout.aborted ? `timed out after ${timeoutMs} ms` : (e.cause?.code ?? e.message), { cause: err });
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`HTTP ${res.status}`);
  }
  const len = Number(res.headers.get('content-length') ?? 0);
  if (len > maxBytes) {
    await res.body?.cancel();
    throw new Error(`response of ${len} bytes exceeds ${maxBytes}`);
  }
  const text = await res.text();
  if (text.length > maxBytes) throw new Error(`response exceeds ${maxBytes} bytes`);
  return text;
}

/** Runs fn over items with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
