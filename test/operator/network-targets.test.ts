/**
 * Targets of network fleets from a ConfigMap (spec.device.network.targetsFrom): parsing and
 * validating its list with the CRD's own target schema, and what the controller is told when the
 * ConfigMap, its key or an entry is bad (the message names all three, and the last good list stays).
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MinerFleetSpecSchema } from '../../operator/src/api/v1alpha1/index.js';
import { parseTargetsText, renderedTargets, resolveNetworkTargets, targetsToRender } from '../../operator/src/controllers/minerfleet/targets.js';
import { fleet } from '../desired/fixtures.js';

const fromConfigMap = (key?: string) =>
  fleet({
    device: { kind: 'network', network: { targetsFrom: { configMapRef: { name: 'rack-1', ...(key ? { key } : {}) } }, targetsPerPod: 3 } },
    miner: { backend: 'network' },
  });

describe('parseTargetsText', () => {
  it('reads a YAML list with defaults, and the same list as JSON', () => {
    const text = stringify([
      { name: 'l3-01', host: '10.20.0.11', model: 'antminer-l3plus' },
      { name: 'l3-02', host: 'l3-02.rack1.lan', port: 14028 },
    ]);
    const r = parseTargetsText(text);
    expect(r).toEqual({
      ok: true,
      targets: [
        { name: 'l3-01', host: '10.20.0.11', port: 4028, model: 'antminer-l3plus' },
        { name: 'l3-02', host: 'l3-02.rack1.lan', port: 14028 },
      ],
    });
    expect(parseTargetsText(JSON.stringify([{ name: 'a', host: '::1' }]))).toEqual({ ok: true, targets: [{ name: 'a', host: '::1', port: 4028 }] });
  });

  it('names the bad entry: duplicates, hosts, ports, models, unknown fields, not a list, not YAML', () => {
    const bad = (v: unknown) => {
      const r = parseTargetsText(typeof v === 'string' ? v : JSON.stringify(v));
      expect(r.ok).toBe(false);
      return (r as { message: string }).message;
    };
    expect(
      bad([
        { name: 'a', host: '10.0.0.1' },
        { name: 'a', host: '10.0.0.2' },
      ]),
    ).toMatch(/^\[1\]\.name: Duplicate value: targets\[\*\]\.name "a" repeats/);
    expect(
      bad([
        { name: 'a', host: '10.0.0.1' },
        { name: 'b', host: 'http://10.0.0.2' },
      ]),
    ).toMatch(/^\[1\]\.host: must be a host name/);
    expect(bad([{ name: 'a', host: '10.0.0.1', port: 70000 }])).toMatch(/^\[0\]\.port: .*<=65535/);
    expect(bad([{ name: 'a', host: '10.0.0.1', model: 'antminer-s19' }])).toMatch(/^\[0\]\.model: .*expected one of/);
    expect(bad([{ name: 'A', host: '10.0.0.1' }])).toMatch(/^\[0\]\.name: /);
    expect(bad([{ name: 'a', hots: '10.0.0.1' }])).toMatch(/\[0\]\.host: .*; \[0\]: unknown field\(s\) hots/);
    expect(bad({ targets: [] })).toMatch(/must be a list of targets/);
    expect(bad('')).toMatch(/must be a list of targets .*got nothing/);
    expect(bad([])).toMatch(/^\(list\): .*>=1/);
    expect(bad('- name: a\n  host: [unclosed')).toMatch(/^not valid YAML or JSON: /);
    expect(bad(Array.from({ length: 10001 }, (_, i) => ({ name: `d-${i}`, host: '10.0.0.1' })))).toMatch(/^\(list\): .*<=10000/);
    // Many bad entries: the first five and a count, so the condition message stays short.
    expect(bad(Array.from({ length: 9 }, (_, i) => ({ name: `d-${i}`, host: 'bad host' })))).toMatch(/\[4\]\.host: .*; and 4 more$/);
  });
});

describe('resolveNetworkTargets', () => {
  const good = stringify([
    { name: 'a', host: '10.0.0.1' },
    { name: 'b', host: '10.0.0.2' },
  ]);

  it('inline targets need no ConfigMap', () => {
    const f = fleet({ device: { kind: 'network', network: { targets: [{ name: 'x', host: '10.0.0.9' }] } }, miner: { backend: 'network' } });
    expect(resolveNetworkTargets(f, undefined, undefined)).toEqual({ source: 'inline', targets: [{ name: 'x', host: '10.0.0.9', port: 4028 }] });
  });

  it('reads the default key targets.yaml, or the one named', () => {
    const r = resolveNetworkTargets(fromConfigMap(), { data: { 'targets.yaml': good } }, undefined);
    expect(r).toMatchObject({
      source: 'configMap',
      ok: true,
      message: '2 targets from ConfigMap "rack-1" key "targets.yaml" (spec.device.network.targetsFrom)',
    });
    expect(targetsToRender(r)!.map((t) => t.name)).toEqual(['a', 'b']);
    const json = resolveNetworkTargets(fromConfigMap('farm.json'), { data: { 'farm.json': '[{"name":"c","host":"10.0.0.3"}]' } }, undefined);
    expect(targetsToRender(json)).toEqual([{ name: 'c', host: '10.0.0.3', port: 4028 }]);
  });

  it('missing ConfigMap, missing key, bad entry: reason and message naming ConfigMap, key and entry; the last good list stays', () => {
    const last = [{ name: 'a', host: '10.0.0.1', port: 4028 }];
    const missing = resolveNetworkTargets(fromConfigMap(), undefined, () => last);
    expect(missing).toMatchObject({ ok: false, reason: 'MissingConfigMap', lastGood: last });
    expect((missing as { message: string }).message).toBe(
      'ConfigMap "rack-1" (spec.device.network.targetsFrom) not found in namespace "farm"; the supervisors keep the last good list (1 targets)',
    );
    expect(targetsToRender(missing)).toEqual(last);

    const noKey = resolveNetworkTargets(fromConfigMap(), { data: { 'other.yaml': good } }, undefined);
    expect(noKey).toMatchObject({ ok: false, reason: 'MissingKey' });
    expect((noKey as { message: string }).message).toBe(
      'ConfigMap "rack-1" has no key "targets.yaml" (spec.device.network.targetsFrom; it has "other.yaml"); no supervisor is started until it is fixed',
    );
    expect(targetsToRender(noKey)).toBeUndefined();

    const dup = resolveNetworkTargets(
      fromConfigMap(),
      {
        data: {
          'targets.yaml': stringify([
            { name: 'a', host: '10.0.0.1' },
            { name: 'a', host: '10.0.0.2' },
          ]),
        },
      },
      () => last,
    );
    expect(dup).toMatchObject({ ok: false, reason: 'InvalidDeviceTargets' });
    expect((dup as { message: string }).message).toMatch(
      /^ConfigMap "rack-1" key "targets.yaml" \(spec.device.network.targetsFrom\) in namespace "farm" is invalid: \[1\]\.name: Duplicate value/,
    );
    expect(targetsToRender(dup)).toEqual(last);
  });

  it('the last good list is read back from the rendered supervisor config', () => {
    expect(renderedTargets({ external: { devices: [{ name: 'a', host: '10.0.0.1', port: 4028, model: 'antminer-l3plus' }] } })).toEqual([
      { name: 'a', host: '10.0.0.1', port: 4028, model: 'antminer-l3plus' },
    ]);
    expect(renderedTargets({})).toBeUndefined();
    expect(renderedTargets(undefined)).toBeUndefined();
  });

  it('the spec schema: targetsPerPod defaults to 1000 and targetsFrom key to targets.yaml', () => {
    const spec = MinerFleetSpecSchema.parse({
      device: { kind: 'network', network: { targetsFrom: { configMapRef: { name: 'rack-1' } } } },
      miner: { backend: 'network' },
      pools: [{ name: 'p', priority: 0 }],
    });
    expect(spec.device.network).toMatchObject({ targetsPerPod: 1000, targetsFrom: { configMapRef: { name: 'rack-1', key: 'targets.yaml' } } });
  });
});
