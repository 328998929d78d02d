import { describe, expect, it } from 'vitest';
import { isSubset } from '../../operator/src/runtime/semantic.js';

describe('isSubset (drift check)', () => {
  const desired = { metadata: { name: 'a', labels: { x: '1' } }, spec: { replicas: 2, template: { containers: [{ name: 'm', image: 'i' }] } } };
  const actual = {
    metadata: { name: 'a', uid: 'u', labels: { x: '1', extra: 'y' } },
    spec: { replicas: 2, strategy: {}, template: { containers: [{ name: 'm', image: 'i', imagePullPolicy: 'Always' }] } },
    status: {},
  };

  it('ignores fields the server adds', () => {
    expect(isSubset(desired, actual)).toBe(true);
  });

  it('catches a changed scalar, a removed field and a changed array length', () => {
    expect(isSubset(desired, { ...actual, spec: { ...actual.spec, replicas: 3 } })).toBe(false);
    expect(isSubset(desired, { ...actual, metadata: { name: 'a' } })).toBe(false);
    expect(isSubset({ a: [1, 2] }, { a: [1, 2, 3] })).toBe(false);
    expect(isSubset({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(isSubset({ a: { b: 'x' } }, { a: 'x' })).toBe(false);
  });

  it('treats empty maps and lists as absent (the API server drops them) but not a missing non-empty one', () => {
    expect(isSubset({ a: {}, b: [] }, {})).toBe(true);
    expect(isSubset({ a: { k: 'v' } }, {})).toBe(false);
    expect(isSubset({ a: ['x'] }, {})).toBe(false);
  });

  it('compares a number with the string the server returns for it (ports, quantities) by value', () => {
    expect(isSubset({ port: 8080 }, { port: '8080' })).toBe(true);
    expect(isSubset({ port: 8080 }, { port: '8081' })).toBe(false);
    expect(isSubset({ port: '8080' }, { port: 8080 })).toBe(false);
  });
});
