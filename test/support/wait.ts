export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** What is being waited for; appears in the timeout error. */
  description?: string;
}

/** Throw this from a waitFor callback to stop waiting at once (the condition can never hold). */
export class GiveUp extends Error {}

/**
 * Polls `fn` until it returns a value other than `undefined`/`false`/`null` and returns that
 * value. A throw counts as "not yet" (except GiveUp, which ends the wait with that error); the
 * last error is reported when the deadline passes.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, false | null | undefined>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) {
        return value as Exclude<T, false | null | undefined>;
      }
      lastError = undefined;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = opts.description ?? 'condition';
      const why = lastError === undefined ? '' : `; last error: ${errorMessage(lastError)}`;
      throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}${why}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
