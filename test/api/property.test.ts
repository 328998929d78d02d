/**
 * Property against a real kube-apiserver: a valid fleet (generated from the API's own patterns and
 * bounds, test/api/arbitraries.ts) and its pools are created for real; the API server must store
 * them with the same defaults zod applies; the operator's pure builders render its objects from
 * what was stored, and the API server must accept every one (server-side apply, dryRun=All,
 * strict field validation); the miner must load the rendered config with its own loader. A
 * counter-example is a validation gap: the API accepted a fleet that then cannot run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigText } from '#miner/config/load';
import {
  GROUP,
  MINER_FLEET_PLURAL,
  MINING_POOL_PLURAL,
  MinerFleetSpecSchema,
  MiningPoolSpecSchema,
  VERSION,
  type MinerFleet,
  type MiningPool,
} from '../../operator/src/api/v1alpha1/index.js';
import { desiredFleetObjects, orderedPools } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { installCrds, startControlPlane, type ControlPlane } from '../support/index.js';
import { fleetCase } from './arbitraries.js';
import type { Obj } from './fixtures.js';

const RUNS = 60;
let cp: ControlPlane;
let rest: KubeRest;

const crPath = (ns: string, plural: string, name?: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`;
function objectPath(o: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } }): string {
  const plural = `${o.kind!.toLowerCase()}s`.replace(/policys$/, 'policies');
  const base = o.apiVersion!.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}/namespaces/${o.metadata!.namespace}/${plural}/${o.metadata!.name}`;
}

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await installCrds(cp);
});

afterAll(async () => {
  await cp?.stop();
});

describe('valid fleets on a real API server (property)', () => {
  it(`${RUNS} generated fleets are stored, render, and every rendered object is accepted`, async () => {
    let n = 0;
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(fleetCase, async (c) => {
        const ns = `prop-${n++}`;
        await rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
        const strict = { fieldValidation: 'Strict' };
        const pools: MiningPool[] = [];
        for (const p of c.pools) {
          const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'MiningPool', metadata: { name: p.name }, spec: p.spec };
          const live = await rest.request<MiningPool>('POST', crPath(ns, MINING_POOL_PLURAL), { body, query: strict });
          expect(live.spec, `pool ${p.name}: API defaults = zod defaults`).toEqual(MiningPoolSpecSchema.parse(p.spec));
          pools.push(live);
        }
        const fleet = await rest.request<MinerFleet>('POST', crPath(ns, MINER_FLEET_PLURAL), { body: c.fleet, query: strict });
        expect(fleet.spec, 'fleet: API defaults = zod defaults').toEqual(MinerFleetSpecSchema.parse(c.fleet.spec));
        const activePool = orderedPools(fleet, pools)[0]!.ref.name;
        const d = desiredFleetObjects({ fleet, pools, activePool, operator: { minerImage: 'ghcr.io/example/minefleet:1.2.3' } });
        for (const obj of Object.values(d) as Obj[]) {
          await rest.request('PATCH', objectPath(obj), {
            body: obj,
            contentType: 'application/apply-patch+yaml',
            query: { fieldManager: 'minefleet-property', force: true, dryRun: 'All', fieldValidation: 'Strict' },
          });
          applied++;
        }
        loadConfigText(d.configMap.data!['miner.yaml']!, {}, 'miner.yaml');
      }),
      { numRuns: RUNS, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
    // Every run applied the seven or eight objects a fleet owns.
    expect(applied).toBeGreaterThanOrEqual(RUNS * 7);
  }, 600_000);
});
