import { describe, expect, it } from 'vitest';
import { canonicalQuantity, quantityValue } from '../../operator/src/controllers/minerfleet/desired/quantity.js';
import { desiredFleetObjects } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { fleet, inputs, pool } from './fixtures.js';

/**
 * What kube-apiserver 1.33 stored for each value written as a container's `resources.requests.memory`
 * (recorded once against the real server with a dry-run Pod create). Writing the same spelling
 * keeps the desired Deployment a subset of the stored one, so a steady state costs no apply.
 */
const SERVER_SPELLING: Array<[string, string]> = [
  ['1000m', '1'],
  ['0.5', '500m'],
  ['.5', '500m'],
  ['1.5', '1500m'],
  ['250m', '250m'],
  ['2500m', '2500m'],
  ['0.001', '1m'],
  ['1n', '1m'],
  ['999999999n', '1'],
  ['99999999999n', '100'],
  ['123456789012n', '123457m'],
  ['999999999999n', '1k'],
  ['1.23456789012', '1235m'],
  ['0.0000000015', '1m'],
  ['1.0000000001', '1001m'],
  ['1.000', '1'],
  ['5.', '5.'],
  ['1000', '1k'],
  ['1k', '1k'],
  ['1500', '1500'],
  ['1536', '1536'],
  ['1024', '1024'],
  ['2000000000', '2G'],
  ['1G', '1G'],
  ['100M', '100M'],
  ['123456789012345678', '123456789012345678'],
  ['1234567890123456789', '1234567890123456789'],
  ['999999999999999999999', '999999999999999999999'],
  ['1e3', '1e3'],
  ['1E3', '1E3'],
  ['1E6', '1E6'],
  ['2E-3', '2E-3'],
  ['1e-3', '1e-3'],
  ['3e9', '3e9'],
  ['12e2', '1200'],
  ['1.5e3', '1500'],
  ['15e-1', '1500e-3'],
  ['1.5Gi', '1536Mi'],
  ['2048Ki', '2Mi'],
  ['100Ki', '100Ki'],
  ['0.1Gi', '107374182400m'],
  ['0Mi', '0'],
  ['512Ki', '512Ki'],
  ['1Mi', '1Mi'],
  ['1023Ki', '1023Ki'],
  ['0.5Ki', '512'],
  ['1.25Ki', '1280'],
  ['7Ei', '7Ei'],
  ['1000000Ki', '1000000Ki'],
  ['1200Mi', '1200Mi'],
  ['128Mi', '128Mi'],
];

describe('resource quantities', () => {
  it.each(SERVER_SPELLING)('%s is written as the API server stores it (%s)', (input, stored) => {
    expect(canonicalQuantity(input)).toBe(stored);
  });

  it('turns numbers into strings and values into numbers', () => {
    expect(canonicalQuantity(2147483648)).toBe('2147483648');
    expect(canonicalQuantity(3000)).toBe('3k');
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('2e3')).toBe(2000);
    expect(() => quantityValue('lots')).toThrow(/"lots" is not a resource quantity/);
    // E alone is the exa suffix, not an empty exponent (test/api/property.test.ts found .1E written as 100e-3).
    expect(quantityValue('.1E')).toBe(1e17);
    expect(canonicalQuantity('.1E')).toBe('100P');
  });

  it('the Deployment carries user quantities in the stored spelling', () => {
    const f = fleet({ miner: { threads: 1, resources: { requests: { memory: '0.5Gi' }, limits: { cpu: '1000m', memory: '1024Mi' } } } });
    const r = desiredFleetObjects(inputs(f, [pool('primary')])).deployment.spec!.template.spec!.containers[0]!.resources!;
    expect(r).toEqual({ requests: { memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } });
    // derived defaults go through the same spelling (256 threads, the API maximum)
    const many = desiredFleetObjects(inputs(fleet({ miner: { threads: 256 } }), [pool('primary')])).deployment.spec!.template.spec!.containers[0]!.resources!;
    expect(many.limits!.cpu).toBe('256');
  });
});
