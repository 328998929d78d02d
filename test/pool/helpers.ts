import { readFile } from 'node:fs/promises';
import type { StratumPool } from '../support/stratum/index.js';
import { StratumTestClient } from './stratum-test-client.js';

/** Connects (TLS when the pool has a CA), subscribes, authorizes and waits for the first job. */
export async function readyClient(pool: StratumPool, worker = 'tester.w1'): Promise<StratumTestClient> {
  const client = await StratumTestClient.connect(pool.port, pool.caFile ? { tls: { ca: await readFile(pool.caFile), servername: pool.serverName! } } : {});
  const sub = await client.subscribe();
  if (sub.error) throw new Error(`subscribe failed: ${JSON.stringify(sub.error)}`);
  const auth = await client.authorize(worker);
  if (auth.result !== true) throw new Error(`authorize failed: ${JSON.stringify(auth)}`);
  await client.waitForJob();
  return client;
}

/** Polls until `pred` is truthy (checked every 50 ms) or the deadline passes. */
export async function until<T>(what: string, pred: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
