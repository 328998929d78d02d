import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../operator/src/runtime/informer.js';
import { KubeRest, type CallOptions, type RequestOptions } from '../../operator/src/runtime/rest.js';
import { collectionPath, objectPath, type KubeObject, type ResourceType } from '../../operator/src/runtime/resource.js';
import { apiserverRequestCounts, sleep, startControlPlane, type ControlPlane } from '../support/index.js';
import { eventually, testLogger } from './helpers.js';

// Nothing in a bare control plane (no controller-manager) lists or watches PodTemplates, so the
// API server's request counters for them count this test's informer alone.
const PodTemplates: ResourceType = { apiVersion: 'v1', kind: 'PodTemplate', plural: 'podtemplates', namespaced: true };
const NS = 'watch-lifetime';
/** What the issue asks: a quiet informer makes no new LIST (and here: keeps its one watch) this long. */
const QUIET_MS = 120_000;

let cp: ControlPlane;
let rest: KubeRest;

const podTemplate = (name: string) => ({
  apiVersion: 'v1',
  kind: 'PodTemplate',
  metadata: { name, namespace: NS },
  template: { spec: { containers: [{ name: 'c', image: 'example.invalid/none:1' }] } },
});

beforeAll(async () => {
  // Without events the API server's bookmarks only move forward with etcd's progress
  // notifications (every 10 min by default): 5 s lets the 2-minute window show bookmarks that advance.
  cp = await startControlPlane({ etcdProgressNotifySeconds: 5 });
  rest = new KubeRest(cp.kubeConfig);
  await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  for (let i = 0; i < 6; i++) await rest.create(collectionPath(PodTemplates, NS), podTemplate(`pre-${i}`));
});

afterAll(async () => {
  await cp?.stop();
});

type ReflectorInternals = { resourceVersion: string; endWatch?: () => void };
const reflectorsOf = (inf: Informer) => (inf as unknown as { reflectors: ReflectorInternals[] }).reflectors;

describe('Informer watch lifetime on a real kube-apiserver', () => {
  it(
    'a quiet informer keeps one watch open for 2 minutes (no LIST, no re-WATCH) and still sees changes after it',
    async () => {
      const inf = new Informer<KubeObject>(rest, cp.kubeConfig, PodTemplates, { namespaces: [NS], logger: testLogger() });
      inf.start();
      try {
        await inf.waitForSync();
        // The watch is open at the server (a WATCH is counted in apiserver_request_total only when it ends).
        await eventually(async () => (await apiserverRequestCounts(cp, 'podtemplates')).openWatches === 1, 'the watch to be open at the API server');
        const before = await apiserverRequestCounts(cp, 'podtemplates');
        const statsBefore = { ...inf.stats };
        const rvBefore = reflectorsOf(inf)[0]!.resourceVersion;
        const t0 = Date.now();
        await sleep(QUIET_MS);
        const after = await apiserverRequestCounts(cp, 'podtemplates');
        const quiet = {
          windowS: Math.round((Date.now() - t0) / 1000),
          serverLists: (after.byVerb.LIST ?? 0) - (before.byVerb.LIST ?? 0),
          serverWatchesEnded: (after.byVerb.WATCH ?? 0) - (before.byVerb.WATCH ?? 0),
          openWatches: after.openWatches,
          informerLists: inf.stats.lists - statsBefore.lists,
          informerWatches: inf.stats.watches - statsBefore.watches,
          bookmarks: inf.stats.bookmarks - statsBefore.bookmarks,
          resourceVersion: `${rvBefore} -> ${reflectorsOf(inf)[0]!.resourceVersion}`,
        };
        console.log(`quiet window: ${JSON.stringify(quiet)}`);
        expect(quiet.serverLists).toBe(0);
        expect(quiet.informerLists).toBe(0);
        // client-node's Watch aborts a stream after 30 s without bytes; the informer must not let it.
        expect(quiet.serverWatchesEnded).toBe(0);
        expect(quiet.informerWatches).toBe(0);
        expect(quiet.openWatches).toBe(1);
        // The server's periodic bookmarks (about once a minute) reached the reflector.
        expect(quiet.bookmarks).toBeGreaterThanOrEqual(1);
        expect(Number(reflectorsOf(inf)[0]!.resourceVersion)).toBeGreaterThanOrEqual(Number(rvBefore));

        // The same watch still delivers.
        await rest.create(collectionPath(PodTemplates, NS), podTemplate('after-quiet'));
        await rest.delete(objectPath(PodTemplates, NS, 'pre-0'));
        await eventually(() => inf.store.getByName(NS, 'after-quiet') && !inf.store.getByName(NS, 'pre-0'), 'events after the quiet window', 15_000);
        const end = await apiserverRequestCounts(cp, 'podtemplates');
        expect((end.byVerb.LIST ?? 0) - (before.byVerb.LIST ?? 0)).toBe(0);
        expect(inf.stats.watches - statsBefore.watches).toBe(0);
      } finally {
        inf.stop();
      }
    },
    QUIET_MS + 90_000,
  );

  for (const when of ['between pages', 'while a page is in flight'] as const) {
    it(`a paged relist cut short by stop() ${when} is not applied as a full replace`, async () => {
      const events: string[] = [];
      let armed = false;
      let cut = 0;
      // The real client; it only calls stop() at a chosen point of the paged LIST.
      class StopMidList extends KubeRest {
        override async get<T = unknown>(path: string, query?: RequestOptions['query'], opts: CallOptions = {}): Promise<T> {
          const isList = path === collectionPath(PodTemplates, NS) && query?.limit !== undefined;
          if (armed && isList && when === 'while a page is in flight' && query?.continue) {
            armed = false;
            cut++;
            inf.stop(); // aborts this request's signal before it is sent
          }
          const page = await super.get<T>(path, query, opts);
          if (armed && isList && when === 'between pages' && (page as { metadata?: { continue?: string } }).metadata?.continue) {
            armed = false;
            cut++;
            inf.stop();
          }
          return page;
        }
      }
      const inf = new Informer<KubeObject>(new StopMidList(cp.kubeConfig), cp.kubeConfig, PodTemplates, {
        namespaces: [NS],
        pageSize: 2,
        logger: testLogger(),
      });
      inf.addEventHandler({ onDelete: (o) => events.push(`delete ${o.metadata.name}`) });
      inf.start();
      await inf.waitForSync();
      const names = inf.store
        .list(NS)
        .map((o) => o.metadata.name)
        .sort();
      expect(names.length).toBeGreaterThanOrEqual(6);
      const listsBefore = inf.stats.lists;
      // Resume from a resourceVersion the server no longer has: 410 Gone, so the reflector relists (paged).
      armed = true;
      for (const r of reflectorsOf(inf)) {
        r.resourceVersion = '1';
        r.endWatch?.();
      }
      await eventually(() => cut === 1, 'the relist to be cut by stop()', 30_000);
      await inf.whenStopped();
      expect(inf.stats.relistsOnGone).toBe(1);
      expect(inf.stats.lists).toBe(listsBefore);
      expect(events).toEqual([]);
      expect(
        inf.store
          .list(NS)
          .map((o) => o.metadata.name)
          .sort(),
      ).toEqual(names);
    });
  }
});
