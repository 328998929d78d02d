import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../operator/src/runtime/informer.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { collectionPath, ConfigMaps, objectPath, type KubeObject } from '../../operator/src/runtime/resource.js';
import { startControlPlane, type ControlPlane } from '../support/index.js';
import { eventually, testLogger } from './helpers.js';

let cp: ControlPlane;
let rest: KubeRest;
const NS = 'informer-test';
const OTHER = 'informer-other';

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  for (const ns of [NS, OTHER]) await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
});

afterAll(async () => {
  await cp?.stop();
});

const cm = (ns: string, name: string, data: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, labels: { app: 'informer-test' } },
  data,
});

describe('Informer on a real kube-apiserver', () => {
  it('lists (paged), watches adds/updates/deletes, indexes, and only sees its namespaces', async () => {
    for (let i = 0; i < 7; i++) await rest.create(collectionPath(ConfigMaps, NS), cm(NS, `pre-${i}`, { i: String(i) }));
    await rest.create(collectionPath(ConfigMaps, OTHER), cm(OTHER, 'elsewhere'));
    const events: string[] = [];
    const inf = new Informer<KubeObject & { data?: Record<string, string> }>(rest, cp.kubeConfig, ConfigMaps, {
      namespaces: [NS],
      labelSelector: 'app=informer-test',
      pageSize: 3,
      indexers: { byValue: (o) => Object.values(o.data ?? {}) },
      logger: testLogger(),
    });
    inf.addEventHandler({
      onAdd: (o) => events.push(`add ${o.metadata.name}`),
      onUpdate: (_a, b) => events.push(`update ${b.metadata.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    inf.start();
    try {
      await inf.waitForSync();
      expect(
        inf.store
          .list(NS)
          .map((o) => o.metadata.name)
          .sort(),
      ).toEqual(['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4', 'pre-5', 'pre-6']);
      expect(inf.store.getByName(OTHER, 'elsewhere')).toBeUndefined();
      expect(inf.store.byIndex('byValue', '3').map((o) => o.metadata.name)).toEqual(['pre-3']);
      expect(inf.store.get(`${NS}/pre-0`)?.kind).toBe('ConfigMap');

      await rest.create(collectionPath(ConfigMaps, NS), cm(NS, 'live', { v: 'a' }));
      await rest.mergePatch(objectPath(ConfigMaps, NS, 'pre-1'), { data: { i: 'changed' } });
      await rest.delete(objectPath(ConfigMaps, NS, 'pre-2'));
      await eventually(() => events.includes('add live') && events.includes('update pre-1') && events.includes('delete pre-2'), 'watch events');
      expect(inf.store.getByName(NS, 'pre-2')).toBeUndefined();
      expect(inf.store.byIndex('byValue', 'changed').map((o) => o.metadata.name)).toEqual(['pre-1']);
      expect(inf.store.byIndex('byValue', '1')).toEqual([]);
      expect(events.some((e) => e.includes('elsewhere'))).toBe(false);
    } finally {
      inf.stop();
    }
  });

  it('recovers when the API server restarts mid-watch and converges on what changed after', async () => {
    const inf = new Informer<KubeObject & { data?: Record<string, string> }>(rest, cp.kubeConfig, ConfigMaps, { namespaces: [NS], logger: testLogger() });
    inf.start();
    try {
      await inf.waitForSync();
      const watchesBefore = inf.stats.watches;
      await cp.restartApiServer();
      // The dropped watch is noticed and re-established (resume from the last version or relist on 410).
      await eventually(() => inf.stats.watches > watchesBefore, 'watch re-established after restart');
      await rest.create(collectionPath(ConfigMaps, NS), cm(NS, 'after-restart', { v: '1' }));
      await rest.mergePatch(objectPath(ConfigMaps, NS, 'live'), { data: { v: 'b' } });
      await rest.delete(objectPath(ConfigMaps, NS, 'pre-3'));
      await eventually(
        () => inf.store.getByName(NS, 'after-restart') && inf.store.getByName(NS, 'live')?.data?.v === 'b' && !inf.store.getByName(NS, 'pre-3'),
        'informer to see changes made after the restart',
        90_000,
      );
    } finally {
      inf.stop();
    }
  });

  it('relists on 410 Gone when its resourceVersion is too old', async () => {
    const inf = new Informer<KubeObject>(rest, cp.kubeConfig, ConfigMaps, { namespaces: [NS], logger: testLogger() });
    inf.start();
    try {
      await inf.waitForSync();
      const listsBefore = inf.stats.lists;
      // Force the reflector to resume from a resourceVersion etcd has compacted away (1 is always
      // older than the watch cache), which the API server answers with 410 Gone / Expired.
      (inf as unknown as { reflectors: Array<{ resourceVersion: string; endWatch?: () => void }> }).reflectors.forEach((r) => {
        r.resourceVersion = '1';
        r.endWatch?.();
      });
      await eventually(() => inf.stats.relistsOnGone > 0 && inf.stats.lists > listsBefore, 'relist after 410 Gone', 60_000);
      await rest.create(collectionPath(ConfigMaps, NS), cm(NS, 'after-gone'));
      await eventually(() => inf.store.getByName(NS, 'after-gone'), 'watch after relist');
    } finally {
      inf.stop();
    }
  });
});
