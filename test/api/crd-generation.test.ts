/**
 * The CRDs are generated from the zod schemas: the committed YAML must match the generator, the
 * schemas must be structural, and every field must explain itself.
 */
import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parse } from 'yaml';
import { minerFleetCrd, miningPoolCrd, renderCrdFiles } from '../../operator/src/api/crd/definitions.js';
import { assertStructural, zodToStructural, type JSONSchemaProps } from '../../operator/src/api/crd/structural.js';
import { withCel } from '../../operator/src/api/v1alpha1/index.js';

const crdDir = join(import.meta.dirname, '../../crds');

type Node = JSONSchemaProps;
function versionOf(crd: Record<string, any>) {
  return crd.spec.versions[0] as Record<string, any>;
}
function schemaOf(crd: Record<string, any>): Node {
  return versionOf(crd).schema.openAPIV3Schema as Node;
}
/** Visit every schema node with its path. */
function walk(node: Node, path: string, visit: (n: Node, p: string) => void): void {
  visit(node, path);
  for (const [k, v] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {})) walk(v, `${path}.${k}`, visit);
  if (node.items && typeof node.items === 'object') walk(node.items as Node, `${path}[*]`, visit);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties as Node, `${path}[*]`, visit);
}

describe('CRD generation', () => {
  it('committed crds/*.yaml are what `npm run gen:crds` writes', async () => {
    const files = renderCrdFiles();
    expect(Object.keys(files).sort()).toEqual(['minerfleets.minefleet.io.yaml', 'miningpools.minefleet.io.yaml']);
    for (const [file, text] of Object.entries(files)) {
      const committed = await readFile(join(crdDir, file), 'utf8').catch(() => '(missing)');
      expect(committed, `crds/${file} is out of date: run npm run gen:crds`).toBe(text);
    }
  });

  it.each([
    ['MiningPool', miningPoolCrd()],
    ['MinerFleet', minerFleetCrd()],
  ])('%s schema is structural, described and has no clear-text secret field', (_kind, crd) => {
    const root = schemaOf(crd);
    expect(() => assertStructural(root)).not.toThrow();
    const undescribed: string[] = [];
    const secretish: string[] = [];
    const celMessages: string[] = [];
    const visit = (n: Node, p: string) => {
      if (!n.description) undescribed.push(p);
      const leaf = p.split('.').pop() ?? '';
      if (/^(password|passwd|pass|token|secret|apiKey|privateKey)$/i.test(leaf)) secretish.push(p);
      for (const v of (n['x-kubernetes-validations'] as Array<{ message: string }> | undefined) ?? []) celMessages.push(v.message);
    };
    walk((root.properties as Record<string, Node>).spec!, '.spec', visit);
    walk((root.properties as Record<string, Node>).status!, '.status', visit);
    expect(undescribed).toEqual([]);
    expect(secretish).toEqual([]);
    expect(celMessages.length).toBeGreaterThan(0);
    for (const m of celMessages) expect(m).toMatch(/^(spec|metadata)\.[A-Za-z]/);
    // JSON text holds nothing Kubernetes would reject or silently drop.
    const text = JSON.stringify(root);
    expect(text).not.toContain('$ref');
    expect(text).not.toContain('propertyNames');
    expect(text).not.toContain('9007199254740991');
  });

  it('MiningPool CRD: names, subresources and printer columns', () => {
    const crd = miningPoolCrd() as Record<string, any>;
    expect(crd.metadata.name).toBe('miningpools.minefleet.io');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'MiningPool', plural: 'miningpools', shortNames: ['mp'], categories: ['mining'] });
    const v = versionOf(crd);
    expect(v.subresources).toEqual({ status: {} });
    expect(v.additionalPrinterColumns.filter((c: any) => !c.priority).map((c: any) => c.name)).toEqual(['URL', 'Ready', 'Latency', 'Age']);
  });

  it('MinerFleet CRD: names, scale subresource and printer columns', () => {
    const crd = minerFleetCrd() as Record<string, any>;
    expect(crd.spec.names).toMatchObject({ kind: 'MinerFleet', plural: 'minerfleets', shortNames: ['mf'], categories: ['mining'] });
    const v = versionOf(crd);
    expect(v.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
    expect(v.additionalPrinterColumns.filter((c: any) => !c.priority).map((c: any) => c.name)).toEqual([
      'Desired',
      'Ready',
      'Miners',
      'Pool',
      'Hashrate',
      'Margin',
      'Suspended',
      'Age',
    ]);
    expect(v.additionalPrinterColumns.find((c: any) => c.name === 'Ready').jsonPath).toBe('.status.conditions[?(@.type=="Ready")].status');
    const spec = (schemaOf(crd).properties as Record<string, Node>).spec!;
    const props = spec.properties as Record<string, Node>;
    // Object defaults are expanded so CEL rules see the nested defaults (Kubernetes validates defaults as written).
    expect(props.device!.default).toEqual({ kind: 'cpu', perPod: 1 });
    expect(props.pools!['x-kubernetes-list-map-keys'] as string[]).toEqual(['name']);
    const quantity = ((props.miner!.properties as Record<string, Node>).resources!.properties as Record<string, Node>).requests!.additionalProperties as Node;
    expect(quantity['x-kubernetes-int-or-string']).toBe(true);
    expect(quantity.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
  });

  it('the generator refuses schemas Kubernetes would reject', () => {
    const union = z.object({ source: z.union([z.object({ a: z.string() }), z.object({ b: z.int() })]).meta({ description: 'x' }) });
    expect(() => zodToStructural(union)).toThrow(/^\.source: /);
    expect(() => assertStructural({ type: 'object', properties: { x: { description: 'untyped' } } })).toThrow(/\.x: every node needs a type/);
    expect(() => zodToStructural(z.object({ t: z.tuple([z.string(), z.int()]) }))).toThrow();
  });

  it('withCel puts each rule into the CRD and into zod', () => {
    const schema = withCel(z.object({ lo: z.int(), hi: z.int() }).meta({ description: 'range' }), [
      { rule: 'self.lo <= self.hi', message: 'spec.lo must not exceed spec.hi', fieldPath: '.lo', holds: (s) => s.lo <= s.hi },
    ]);
    expect(zodToStructural(schema)['x-kubernetes-validations']).toEqual([
      { rule: 'self.lo <= self.hi', message: 'spec.lo must not exceed spec.hi', fieldPath: '.lo' },
    ]);
    const r = schema.safeParse({ lo: 5, hi: 1 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['lo'], message: 'spec.lo must not exceed spec.hi' });
  });

  it('committed YAML parses to the generated objects', async () => {
    const fleet = parse(await readFile(join(crdDir, 'minerfleets.minefleet.io.yaml'), 'utf8'));
    expect(fleet).toEqual(JSON.parse(JSON.stringify(minerFleetCrd())));
  });
});
