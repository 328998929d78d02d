import { describe, expect, it } from 'vitest';
import type { MinerFleet } from '../../operator/src/api/v1alpha1/index.js';
import { setCondition } from '../../operator/src/controllers/minerfleet/conditions.js';
import { secretKeysOnly } from '../../operator/src/controllers/minerfleet/secrets.js';
import { computeStatus } from '../../operator/src/controllers/minerfleet/status.js';
import { statusUpToDate } from '../../operator/src/controllers/minerfleet/controller.js';

const fleet = (over: Partial<MinerFleet> = {}): MinerFleet =>
  ({
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MinerFleet',
    metadata: { name: 'f', namespace: 'ns', generation: 3, uid: 'u1' },
    spec: {
      replicas: 2,
      device: { kind: 'cpu', perPod: 1 },
      miner: { backend: 'cpu' },
      pools: [
        { name: 'a', priority: 0, weight: 1 },
        { name: 'b', priority: 1, weight: 1 },
      ],
      failover: { strategy: 'Priority', failbackAfterSeconds: 300 },
    },
    ...over,
  }) as MinerFleet;
describe('conditions', () => {
  it('keeps lastTransitionTime unless the status flips', () => {
    let c = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'm' }, 1, 'T1');
    c = setCondition(c, { type: 'Ready', status: 'False', reason: 'B', message: 'm2' }, 2, 'T2');
    expect(c).toEqual([{ type: 'Ready', status: 'False', reason: 'B', message: 'm2', observedGeneration: 2, lastTransitionTime: 'T1' }]);
    c = setCondition(c, { type: 'Ready', status: 'True', reason: 'C', message: 'ok' }, 2, 'T3');
    expect(c[0]!.lastTransitionTime).toBe('T3');
  });
});

describe('Secret cache', () => {
  it('caches Secrets without their values', () => {
    const s = secretKeysOnly({ metadata: { name: 's' }, data: { password: 'c2VjcmV0' }, stringData: { x: 'y' } });
    expect(s).toEqual({ metadata: { name: 's' }, data: { password: '' } });
  });
});

describe('computeStatus', () => {
  const base = { selector: 'app=x', activePool: 'a', missing: [], desiredReplicas: 2, now: 'NOW' };
  it('Ready when all desired pods are ready and the rollout is complete', () => {
    const d = { metadata: { generation: 4 }, status: { observedGeneration: 4, replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 } };
    const s = computeStatus({ ...base, fleet: fleet(), deployment: d });
    expect(s).toMatchObject({ replicas: 2, readyReplicas: 2, selector: 'app=x', activePool: 'a', observedGeneration: 3 });
    const by = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    expect(by.Ready).toMatchObject({ status: 'True', reason: 'MinersReady', observedGeneration: 3, lastTransitionTime: 'NOW' });
    expect(by.Progressing).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
    expect(by.Degraded).toMatchObject({ status: 'False' });
    expect(by.PoolAvailable).toMatchObject({ status: 'True' });
    expect(s.conditions!.map((c) => c.type)).toEqual(['Ready', 'Progressing', 'Degraded', 'PoolAvailable']);
  });
  it('a paused fleet is not Ready (reason Paused) even once its 0 replicas are rolled out', () => {
    const d = { metadata: { generation: 4 }, status: { observedGeneration: 4, replicas: 0, readyReplicas: 0, updatedReplicas: 0, availableReplicas: 0 } };
    const paused = fleet();
    paused.spec.paused = true;
    const s = computeStatus({ ...base, desiredReplicas: 0, fleet: paused, deployment: d });
    const by = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    expect(by.Ready).toMatchObject({ status: 'False', reason: 'Paused', message: 'paused by spec.paused: 0 miner pod(s) still running, 0 wanted' });
    expect(by.Progressing).toMatchObject({ status: 'False', reason: 'RolloutComplete' });
  });
  it('Progressing and not Ready while pods are missing; Degraded with missing refs or apply errors', () => {
    const d = { metadata: { generation: 4 }, status: { observedGeneration: 4, replicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1 } };
    const s = computeStatus({
      ...base,
      fleet: fleet(),
      deployment: d,
      missing: [{ kind: 'MiningPool', name: 'b', pool: 'b', message: 'MiningPool "b" not found in namespace "ns"' }],
    });
    const by = Object.fromEntries(s.conditions!.map((c) => [c.type, c]));
    expect(by.Ready).toMatchObject({ status: 'False', message: '1/2 miner pods ready' });
    expect(by.Progressing).toMatchObject({ status: 'True', reason: 'RollingOut' });
    expect(by.Degraded).toMatchObject({ status: 'True', reason: 'MissingReferences' });
    expect(by.PoolAvailable).toMatchObject({ status: 'False', reason: 'PoolNotFound', message: 'MiningPool "b" not found in namespace "ns"' });
    const e = computeStatus({ ...base, fleet: fleet(), deployment: d, applyError: 'boom' });
    expect(e.conditions!.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed', message: 'boom' });
  });
  it('statusUpToDate compares conditions by type and ignores fields others own', () => {
    const s = computeStatus({ ...base, fleet: fleet(), deployment: undefined });
    expect(statusUpToDate(s, undefined)).toBe(false);
    const have = {
      ...s,
      hashrate: 5,
      conditions: [{ type: 'Profitable', status: 'True' as const, reason: 'Pays', message: '', lastTransitionTime: 'x' }, ...[...s.conditions!].reverse()],
    };
    expect(statusUpToDate(s, have)).toBe(true);
    expect(statusUpToDate({ ...s, readyReplicas: 1 }, have)).toBe(false);
  });
});
