/**
 * The leadership signal is shared by every in-flight request of the controllers and the
 * collector (64 scrapes at once): Node must not warn of an EventTarget leak for that.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { getMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Manager } from '../../operator/src/runtime/manager.js';
import { testLogger } from './helpers.js';

describe('Manager leadership signal', () => {
  it('takes the collector’s 64 concurrent requests and more without a MaxListenersExceededWarning', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const m = new Manager({ kubeConfig: kc, logger: testLogger(), probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
    const signal = m.leadershipSignal;
    expect(getMaxListeners(signal)).toBeGreaterThanOrEqual(1000);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const listeners = Array.from({ length: 200 }, () => () => undefined);
    for (const l of listeners) signal.addEventListener('abort', l);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    for (const l of listeners) signal.removeEventListener('abort', l);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});
