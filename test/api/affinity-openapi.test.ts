// spec.placement.affinity is written by hand (operator/src/api/v1alpha1/affinity.ts): this test
// proves it is the real core/v1 Affinity by comparing the generated CRD schema with the one the
// real kube-apiserver publishes (OpenAPI v3, /openapi/v3/api/v1), property by property and type
// by type, all the way down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minerFleetCrd } from '../../operator/src/api/crd/definitions.js';
import { startControlPlane, type ControlPlane } from '../support/index.js';

type Any = any;

/** What must agree: the JSON type (and integer format), the required fields, the nested shapes. */
interface Shape {
  type: string;
  format?: string;
  required?: string[];
  properties?: Record<string, Shape>;
  items?: Shape;
  additionalProperties?: Shape;
}

let cp: ControlPlane;
let openapi: Any;

beforeAll(async () => {
  cp = await startControlPlane();
  const r = await cp.kubectl(['get', '--raw', '/openapi/v3/api/v1']);
  expect(r.code, r.stderr).toBe(0);
  openapi = JSON.parse(r.stdout);
}, 240_000);
afterAll(async () => {
  await cp?.stop();
});

/** A kube-apiserver schema: `$ref` or `allOf: [{$ref}]` (with a default beside it) resolved. */
function k8sShape(schema: Any, path: string, depth = 0): Shape {
  if (depth > 20) throw new Error(`schema too deep at ${path}`);
  const ref: string | undefined = schema.$ref ?? (schema.allOf?.length === 1 ? schema.allOf[0].$ref : undefined);
  if (ref) {
    const name = ref.replace('#/components/schemas/', '');
    const target = openapi.components.schemas[name];
    if (!target) throw new Error(`${path}: ${ref} not in the API server's OpenAPI`);
    return k8sShape(target, `${path}<${name}>`, depth + 1);
  }
  return shape(schema, path, (s, p) => k8sShape(s, p, depth + 1));
}

function crdShape(schema: Any, path: string): Shape {
  return shape(schema, path, crdShape);
}

function shape(schema: Any, path: string, nested: (s: Any, p: string) => Shape): Shape {
  if (typeof schema.type !== 'string') throw new Error(`${path}: no type in ${JSON.stringify(schema).slice(0, 200)}`);
  const out: Shape = { type: schema.type };
  if (schema.type === 'integer') out.format = schema.format;
  if (schema.required?.length) out.required = [...schema.required].sort();
  if (schema.properties) out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, nested(v, `${path}.${k}`)]));
  if (schema.items) out.items = nested(schema.items, `${path}[]`);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
    out.additionalProperties = nested(schema.additionalProperties, `${path}{}`);
  return out;
}

describe('MinerFleet spec.placement.affinity', () => {
  it('has the property names, types and required fields of the API server’s io.k8s.api.core.v1.Affinity, recursively', () => {
    const real = openapi.components.schemas['io.k8s.api.core.v1.Affinity'];
    expect(real, 'io.k8s.api.core.v1.Affinity in /openapi/v3/api/v1').toBeDefined();
    const crd = minerFleetCrd() as Any;
    const ours = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.placement.properties.affinity;
    expect(ours, 'spec.placement.affinity in the generated CRD').toBeDefined();
    // not a preserve-unknown-fields escape hatch anywhere inside
    expect(JSON.stringify(ours)).not.toContain('x-kubernetes-preserve-unknown-fields');
    const want = k8sShape(real, 'Affinity');
    const have = crdShape(ours, 'affinity');
    expect(have).toEqual(want);
    // and the comparison is not vacuous: it reached the leaves
    const leaves = JSON.stringify(want).match(/"type":"string"/g)?.length ?? 0;
    console.log(`[affinity-openapi] compared ${leaves} string leaves; top-level ${Object.keys(want.properties ?? {}).join(', ')}`);
    expect(
      want.properties?.podAntiAffinity?.properties?.preferredDuringSchedulingIgnoredDuringExecution?.items?.properties?.podAffinityTerm?.properties
        ?.topologyKey,
    ).toEqual({
      type: 'string',
    });
  });
});
