import { describe, expect, it } from 'vitest';
import { APPLIED_HASH_ANNOTATION, stableJson, withAppliedHash } from '../../operator/src/runtime/applied-hash.js';

const hashOf = <T extends { metadata?: { annotations?: Record<string, string> } }>(o: T) => withAppliedHash(o).metadata!.annotations![APPLIED_HASH_ANNOTATION];

describe('applied hash', () => {
  const base = { metadata: { name: 'x', annotations: { a: '1' } }, spec: { nodeSelector: { k: 'v' }, replicas: 2 } };

  it('ignores key order and undefined fields', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
    expect(hashOf({ spec: { replicas: 2, nodeSelector: { k: 'v' } }, metadata: { annotations: { a: '1' }, name: 'x' } })).toBe(hashOf(base));
  });

  it('changes when a field is removed, added or changed', () => {
    const { nodeSelector: _n, ...noSelector } = base.spec;
    expect(hashOf({ ...base, spec: noSelector })).not.toBe(hashOf(base));
    expect(hashOf({ ...base, spec: { ...base.spec, priorityClassName: 'p' } })).not.toBe(hashOf(base));
    expect(hashOf({ ...base, spec: { ...base.spec, replicas: 3 } })).not.toBe(hashOf(base));
  });

  it('keeps the other annotations and does not hash its own (re-hashing is stable)', () => {
    const once = withAppliedHash(base);
    expect(once.metadata.annotations.a).toBe('1');
    expect(withAppliedHash(once)).toEqual(once);
    expect(base.metadata.annotations).toEqual({ a: '1' }); // input not mutated
  });
});
