import { describe, expect, it } from 'vitest';
import { desiredFleetObjects, fleetLabels, fleetNames, fleetSelector } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { DNS1035_LABEL, DNS1123_LABEL, DNS1123_SUBDOMAIN, fleet, inputs, LABEL_VALUE, pool } from './fixtures.js';

function assertValidObjects(name: string) {
  const d = desiredFleetObjects(inputs(fleet({}, name), [pool('primary')]));
  const names = fleetNames(name);
  for (const [field, n] of Object.entries(names)) {
    expect(n.length, `${field} ${n}`).toBeLessThanOrEqual(253);
    expect(n, field).toMatch(DNS1123_SUBDOMAIN);
  }
  // Services need a DNS-1035 label; the Deployment a DNS-1123 label so pod hostnames stay valid.
  expect(d.service.metadata!.name!.length).toBeLessThanOrEqual(63);
  expect(d.service.metadata!.name).toMatch(DNS1035_LABEL);
  expect(d.deployment.metadata!.name!.length).toBeLessThanOrEqual(63);
  expect(d.deployment.metadata!.name).toMatch(DNS1123_SUBDOMAIN);
  for (const o of Object.values(d) as Array<{ metadata: { labels: Record<string, string> } }>) {
    for (const v of Object.values(o.metadata.labels)) {
      expect(v.length).toBeLessThanOrEqual(63);
      expect(v).toMatch(LABEL_VALUE);
    }
  }
  for (const v of [...(d.deployment.spec!.template.spec!.volumes ?? [])]) expect(v.name).toMatch(DNS1123_LABEL);
  return { d, names };
}

describe('names', () => {
  it('uses the plain <fleet>-suffix names when they fit', () => {
    expect(fleetNames('rig')).toEqual({
      deployment: 'rig',
      serviceAccount: 'rig-miner',
      role: 'rig-miner',
      roleBinding: 'rig-miner',
      configMap: 'rig-config',
      runtimeConfigMap: 'rig-runtime',
      service: 'rig-metrics',
      networkPolicy: 'rig-miner',
    });
    assertValidObjects('rig');
  });

  it('keeps the longest fleet name the CRD allows (45) unchanged', () => {
    const name = 'a'.repeat(45);
    const { names } = assertValidObjects(name);
    expect(names.deployment).toBe(name);
    expect(names.service).toBe(`${name}-metrics`);
    expect(names.runtimeConfigMap).toBe(`${name}-runtime`);
  });

  it('truncates with a hash suffix when a name does not fit, and stays unique and stable', () => {
    const long1 = `${'x'.repeat(70)}-one`;
    const long2 = `${'x'.repeat(70)}-two`;
    const a = assertValidObjects(long1).names;
    const b = assertValidObjects(long2).names;
    expect(a.deployment).not.toBe(b.deployment);
    expect(a.service).not.toBe(b.service);
    expect(a.service.endsWith('-metrics')).toBe(true);
    expect(fleetNames(long1)).toEqual(a);
    // the label value of the instance (selector) is bounded too
    expect(fleetLabels(fleet({}, long1))['app.kubernetes.io/instance']).not.toBe(fleetLabels(fleet({}, long2))['app.kubernetes.io/instance']);
    expect(fleetSelector(fleet({}, long1))).toMatch(/^app\.kubernetes\.io\/instance=x+-[0-9a-f]{8},app\.kubernetes\.io\/name=minefleet-miner$/);

    const huge = 'y'.repeat(250);
    const h = assertValidObjects(huge).names;
    expect(h.configMap.endsWith('-config')).toBe(true);
    expect(h.runtimeConfigMap.endsWith('-runtime')).toBe(true);
    expect(h.configMap.length).toBeLessThanOrEqual(253);
  });

  it('maps subdomain-only fleet names (dots, leading digit) to valid Service names without collisions', () => {
    const dotted = assertValidObjects('farm.rig-1').names;
    const dashed = assertValidObjects('farm-rig-1').names;
    expect(dashed.service).toBe('farm-rig-1-metrics');
    expect(dotted.service).not.toBe(dashed.service);
    expect(dotted.service).toMatch(/^farm-rig-1-[0-9a-f]{8}-metrics$/);
    const digit = assertValidObjects('1st-rig').names;
    expect(digit.service).toMatch(/^mf-1st-rig-[0-9a-f]{8}-metrics$/);
    // cut points never leave a trailing '-' or '.' before the hash
    const cut = assertValidObjects(`${'a'.repeat(53)}.b${'c'.repeat(20)}`).names;
    expect(cut.service).not.toMatch(/[-.]-/);
    expect(cut.deployment).not.toMatch(/[-.]-/);
  });
});
