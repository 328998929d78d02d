import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { Controller, type Request } from '../../operator/src/runtime/controller.js';
import { RuntimeMetrics } from '../../operator/src/metrics/runtime-metrics.js';
import { eventually } from './helpers.js';

const value = async (m: RuntimeMetrics, name: string, labels: Record<string, string>) => {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values as Array<{ labels: Record<string, string>; value: number }> | undefined)?.find((v) =>
    Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  )?.value;
};

describe('Controller', () => {
  it('retries failed reconciles with back-off, honours requeueAfter, and records controller-runtime metrics', async () => {
    const metrics = new RuntimeMetrics(new Registry(), { defaultMetrics: false });
    const calls: Array<{ req: Request; at: number }> = [];
    let failuresLeft = 2;
    const c = new Controller(
      'test',
      {
        async reconcile(req) {
          calls.push({ req, at: Date.now() });
          if (req.name === 'flaky' && failuresLeft-- > 0) throw new Error('transient');
          if (req.name === 'periodic' && calls.filter((x) => x.req.name === 'periodic').length < 3) return { requeueAfterMs: 50 };
          return {};
        },
      },
      { concurrency: 2, metrics, backoffBaseMs: 20, backoffMaxMs: 1000 },
    );
    c.start();
    c.queue.add('ns/flaky');
    c.queue.add('ns/periodic');
    await eventually(
      () => calls.filter((x) => x.req.name === 'flaky').length === 3 && calls.filter((x) => x.req.name === 'periodic').length === 3,
      'reconciles',
      10_000,
      10,
    );
    const flaky = calls.filter((x) => x.req.name === 'flaky');
    expect(flaky[0]!.req).toEqual({ namespace: 'ns', name: 'flaky' });
    expect(flaky[1]!.at - flaky[0]!.at).toBeGreaterThanOrEqual(15); // 20 ms back-off
    expect(flaky[2]!.at - flaky[1]!.at).toBeGreaterThanOrEqual(35); // 40 ms back-off
    await eventually(
      async () => (await value(metrics, 'controller_runtime_reconcile_total', { controller: 'test', result: 'success' })) === 2,
      'success count',
    );
    expect(await value(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'test' })).toBe(2);
    expect(await value(metrics, 'controller_runtime_reconcile_total', { controller: 'test', result: 'error' })).toBe(2);
    expect(await value(metrics, 'controller_runtime_reconcile_total', { controller: 'test', result: 'requeue_after' })).toBe(2);
    // client-go counts every AddAfter as a retry: 2 back-offs of flaky + 2 requeueAfter of periodic
    expect(await value(metrics, 'workqueue_retries_total', { name: 'test' })).toBe(4);
    // one add per enqueue: flaky 1 + 2 retries, periodic 1 + 2 requeues
    expect(await value(metrics, 'workqueue_adds_total', { name: 'test' })).toBe(6);
    expect(await value(metrics, 'controller_runtime_max_concurrent_reconciles', { controller: 'test' })).toBe(2);
    const text = await metrics.registry.metrics();
    for (const n of [
      'controller_runtime_reconcile_time_seconds_bucket',
      'workqueue_queue_duration_seconds_bucket',
      'workqueue_work_duration_seconds_bucket',
      'workqueue_depth',
    ])
      expect(text).toContain(n);
    await c.stop();
    c.queue.add('ns/after-stop');
    expect(c.queue.length).toBe(0);
  });

  it('a started controller exports its counters at 0 before any work (as controller-runtime does); a constructed one nothing', async () => {
    const metrics = new RuntimeMetrics(new Registry(), { defaultMetrics: false });
    const c = new Controller('idle', { reconcile: async () => ({}) }, { metrics });
    expect(await value(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'idle' })).toBeUndefined();
    c.start();
    expect(await value(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'idle' })).toBe(0);
    for (const result of ['success', 'error', 'requeue', 'requeue_after'])
      expect(await value(metrics, 'controller_runtime_reconcile_total', { controller: 'idle', result })).toBe(0);
    expect(await value(metrics, 'workqueue_retries_total', { name: 'idle', controller: 'idle' })).toBe(0);
    expect(await value(metrics, 'workqueue_adds_total', { name: 'idle', controller: 'idle' })).toBe(0);
    await c.stop();
  });
});

describe('Controller reconcile context', () => {
  it('passes a signal, a fresh reconcileID and a logger bound to {controller, namespace, name, reconcileID}; cancel() aborts in-flight signals', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const seen: Array<{ reconcileID: string; signal: AbortSignal }> = [];
    let release: (() => void) | undefined;
    const c = new Controller(
      'ctxtest',
      {
        async reconcile(req, ctx) {
          seen.push({ reconcileID: ctx.reconcileID, signal: ctx.signal });
          ctx.log.info('reconciling');
          if (req.name === 'slow') {
            await new Promise<void>((resolve, reject) => {
              release = resolve;
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
            });
          }
          if (req.name === 'bad') throw new Error('boom', { cause: new Error('root cause') });
        },
      },
      { logger, backoffBaseMs: 60_000, backoffMaxMs: 60_000 },
    );
    c.start();
    c.queue.add('ns/a');
    c.queue.add('ns/bad');
    await eventually(() => seen.length === 2, 'two reconciles', 10_000, 10);
    c.queue.add('ns/a');
    await eventually(() => seen.length === 3, 'third reconcile', 10_000, 10);
    expect(new Set(seen.map((s) => s.reconcileID)).size).toBe(3);
    const first = lines.find((l) => l.msg === 'reconciling' && l.name === 'a')!;
    expect(first).toMatchObject({ controller: 'ctxtest', namespace: 'ns', name: 'a', reconcileID: seen[0]!.reconcileID });
    // Errors are logged as objects (type, message, stack, cause), not as a message string.
    const failed = await eventually(() => lines.find((l) => l.msg === 'reconcile failed; retrying with back-off'), 'error line', 10_000, 10);
    expect(failed).toMatchObject({ controller: 'ctxtest', namespace: 'ns', name: 'bad' });
    const err = failed.err as { message: string; stack: string; type: string };
    expect(err.type).toBe('Error');
    expect(err.stack).toContain('controller.test.ts');
    expect(JSON.stringify(err)).toContain('root cause');

    c.queue.add('ns/slow');
    await eventually(() => release !== undefined, 'slow reconcile started', 10_000, 10);
    const slowSignal = seen.at(-1)!.signal;
    expect(slowSignal.aborted).toBe(false);
    c.cancel(new Error('leadership lost'));
    expect(slowSignal.aborted).toBe(true);
    expect((slowSignal.reason as Error).message).toBe('leadership lost');
    await eventually(() => lines.some((l) => l.msg === 'reconcile cancelled' && l.name === 'slow'), 'cancelled line', 10_000, 10);
    await c.stop();
  });
});
