/**
 * Property: every fleet the API accepts renders. Valid MinerFleets and MiningPools come from the
 * arbitraries built on the API's own patterns and bounds (test/api/arbitraries.ts); the pure
 * builders must turn each into objects without throwing, and the miner must load the rendered
 * config with its own loader. The same property against a real API server (which also checks the
 * rendered objects) is test/api/property.test.ts; this one is in-process, so it runs many more cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '#miner/config/load';
import { parseRuntimeState } from '#miner/runtime';
import { MinerFleetSpecSchema, MiningPoolSpecSchema, type MinerFleet, type MiningPool } from '../../operator/src/api/v1alpha1/index.js';
import { desiredFleetObjects, orderedPools } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { fleetCase } from '../api/arbitraries.js';
import { FLEET_UID, NS } from './fixtures.js';

describe('rendering valid fleets (property)', () => {
  it('every valid fleet renders, and the miner loads its config', () => {
    let rendered = 0;
    fc.assert(
      fc.property(fleetCase, (c) => {
        const pools: MiningPool[] = c.pools.map((p, i) => ({
          apiVersion: c.fleet.apiVersion,
          kind: 'MiningPool',
          metadata: { name: p.name, namespace: NS, uid: `pool-uid-${i}`, generation: 1 },
          spec: MiningPoolSpecSchema.parse(p.spec),
        }));
        const fleet: MinerFleet = {
          apiVersion: c.fleet.apiVersion,
          kind: 'MinerFleet',
          metadata: { name: c.fleetName, namespace: NS, uid: FLEET_UID, generation: 1 },
          spec: MinerFleetSpecSchema.parse(c.fleet.spec),
        };
        const activePool = orderedPools(fleet, pools)[0]!.ref.name;
        const d = desiredFleetObjects({ fleet, pools, activePool, operator: { minerImage: 'ghcr.io/example/minefleet:1.2.3' } });
        const config = loadConfigText(d.configMap.data!['miner.yaml']!, {}, 'miner.yaml');
        expect(config.pools.map((p) => p.name)).toEqual(orderedPools(fleet, pools).map((o) => o.ref.name));
        expect(parseRuntimeState(d.runtimeConfigMap.data!['runtime.json']!).activePool).toBe(activePool);
        rendered++;
      }),
      { numRuns: 500, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
    expect(rendered).toBeGreaterThanOrEqual(500);
  });
});
