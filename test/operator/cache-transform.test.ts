import { describe, expect, it } from 'vitest';
import { LAST_APPLIED_ANNOTATION, stripManagedFields, trimUserObject } from '../../operator/src/runtime/transform.js';

const applied = {
  apiVersion: 'minefleet.io/v1alpha1',
  kind: 'MinerFleet',
  metadata: {
    name: 'f',
    namespace: 'ns',
    uid: 'u1',
    resourceVersion: '7',
    labels: { team: 'a' },
    annotations: { [LAST_APPLIED_ANNOTATION]: '{"spec":{"replicas":3}}', 'example.com/owner': 'ops' },
    managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
  },
  spec: { replicas: 3 },
  status: { readyReplicas: 2 },
};

describe('cache transforms', () => {
  it('trimUserObject drops managedFields and the client-side-apply copy, and keeps every other field', () => {
    const t = trimUserObject(applied);
    expect(t.metadata).toEqual({
      name: 'f',
      namespace: 'ns',
      uid: 'u1',
      resourceVersion: '7',
      labels: { team: 'a' },
      annotations: { 'example.com/owner': 'ops' },
    });
    expect(t.spec).toBe(applied.spec);
    expect(t.status).toBe(applied.status);
    expect(applied.metadata.managedFields).toHaveLength(1); // the informer's input is not mutated
    expect(applied.metadata.annotations[LAST_APPLIED_ANNOTATION]).toBeDefined();
  });

  it('trimUserObject on an object without the annotation behaves like stripManagedFields', () => {
    const { annotations: _a, ...meta } = applied.metadata;
    const o = { ...applied, metadata: meta };
    expect(trimUserObject(o)).toEqual(stripManagedFields(o));
    expect(trimUserObject(o).metadata).not.toHaveProperty('managedFields');
    const bare = { apiVersion: 'v1', kind: 'X', metadata: { name: 'b' } };
    expect(trimUserObject(bare)).toBe(bare);
  });
});
