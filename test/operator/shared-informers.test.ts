import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiningPools } from '../../operator/src/api/v1alpha1/index.js';
import { secretsCacheTransform } from '../../operator/src/controllers/minerfleet/secrets.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { Secrets, type KubeObject } from '../../operator/src/runtime/resource.js';
import { testLogger } from './helpers.js';

/** A plain HTTP server that counts the requests it receives (stands in for nothing: it only counts). */
let server: Server;
let received: string[] = [];
let kubeConfig: KubeConfig;

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('Manager: one cache per resource type', () => {
  it('hands a second controller the same MiningPool informer and adds its indexers to the shared cache', () => {
    const mgr = new Manager({ kubeConfig, logger: testLogger() });
    const byUrl = (o: KubeObject) => [String((o as { spec?: { url?: string } }).spec?.url ?? '')];
    const a = mgr.informer(MiningPools, { indexers: { bySecret: () => ['s'] } });
    const b = mgr.informer(MiningPools, { indexers: { byUrl } });
    expect(b).toBe(a);
    expect(mgr.allInformers).toHaveLength(1);
    expect(a.store.hasIndexer('bySecret') && a.store.hasIndexer('byUrl')).toBe(true);
    a.store.upsert({ apiVersion: 'minefleet.io/v1alpha1', kind: 'MiningPool', metadata: { name: 'p', namespace: 'n' }, spec: { url: 'stratum+tcp://x:1' } });
    expect(b.store.byIndex('byUrl', 'stratum+tcp://x:1').map((o) => o.metadata.name)).toEqual(['p']);
    // The same index registered again with the same function is fine; another function is not.
    expect(() => mgr.informer(MiningPools, { indexers: { byUrl } })).not.toThrow();
    expect(() => mgr.informer(MiningPools, { indexers: { byUrl: () => [] } })).toThrow(/indexer byUrl already exists/);
  });

  it('refuses a second registration that would change the shape of the shared cache', () => {
    const mgr = new Manager({ kubeConfig, logger: testLogger() });
    mgr.informer(Secrets, { transform: secretsCacheTransform });
    expect(mgr.informer(Secrets, { transform: secretsCacheTransform })).toBe(mgr.informer(Secrets, { transform: secretsCacheTransform }));
    expect(() => mgr.informer(Secrets, {})).toThrow(/shared Secret informer: transform differs/);
    expect(() => mgr.informer(Secrets, { transform: secretsCacheTransform, labelSelector: 'a=b' })).toThrow(/labelSelector differs/);
  });
});

describe('KubeRest signals', () => {
  it('a client bound to a fired signal sends nothing, while the base client still works', async () => {
    const mgr = new Manager({ kubeConfig, logger: testLogger() });
    received = [];
    await mgr.rest.get('/api/v1/namespaces/a/configmaps/x');
    expect(received).toEqual(['GET /api/v1/namespaces/a/configmaps/x']);
    // Leadership lost: the Manager fires the signal its controllers' client is bound to.
    (mgr as unknown as { stopActing(e: Error): void }).stopActing(new Error('lost'));
    expect(mgr.leadershipSignal.aborted).toBe(true);
    await expect(mgr.rest.apply('/api/v1/namespaces/a/configmaps/x', { metadata: { name: 'x' } }, 'test')).rejects.toThrow('lost');
    const caller = new AbortController();
    caller.abort(new Error('reconcile cancelled'));
    await expect(mgr.baseRest.create('/api/v1/namespaces/a/configmaps', {}, { signal: caller.signal })).rejects.toThrow('reconcile cancelled');
    expect(received).toEqual(['GET /api/v1/namespaces/a/configmaps/x']);
    await mgr.baseRest.get('/api/v1/namespaces/a/configmaps/y');
    expect(received).toHaveLength(2);
  });
});
