import { describe, expect, it } from 'vitest';
import { parseStoreConfig, redactUri, StoreConfigError, StoreValidationError } from '../../operator/src/store/index.js';
import { validateDocuments } from '../../operator/src/store/schemas.js';
import { rollup, sample, share } from './helpers.js';

describe('store config', () => {
  it('fills defaults and keeps what is given', () => {
    const c = parseStoreConfig({ uri: 'mongodb://127.0.0.1:27017', buffer: { spillDir: '/tmp/x' }, collectionPrefix: 'mf_' });
    expect(c.dbName).toBe('minefleet');
    expect(c.collectionPrefix).toBe('mf_');
    expect(c.pool).toEqual({ maxPoolSize: 10, minPoolSize: 0 });
    expect(c.writer.batchSize).toBe(500);
    expect(c.buffer.maxMemoryDocuments).toBe(30_000);
    expect(c.retentionDays.shares).toBe(7);
  });

  it('names every bad field', () => {
    const bad = () =>
      parseStoreConfig({ uri: 'http://db:27017', buffer: { spillDir: '/tmp/x' }, pool: { maxPoolSize: 2, minPoolSize: 5 }, collectionPrefix: 'a-b' });
    expect(bad).toThrow(StoreConfigError);
    expect(bad).toThrow(/uri: uri must start with mongodb:\/\//);
    expect(bad).toThrow(/pool\.minPoolSize: pool\.minPoolSize must be <= pool\.maxPoolSize/);
    expect(bad).toThrow(/collectionPrefix: /);
    expect(() => parseStoreConfig({ uri: 'mongodb://x' })).toThrow(/buffer: /);
    expect(() => parseStoreConfig({ uri: 'mongodb://x', buffer: { spillDir: '/x' }, bogus: 1 })).toThrow(/bogus/);
  });

  it('redacts passwords in URIs', () => {
    expect(redactUri('mongodb://user:hunter2@db:27017/x')).toBe('mongodb://user:***@db:27017/x');
    expect(redactUri('mongodb+srv://user:p%40ss@cluster/x')).toBe('mongodb+srv://user:***@cluster/x');
    expect(redactUri('mongodb://db:27017')).toBe('mongodb://db:27017');
  });
});

describe('document validation', () => {
  it('accepts good documents of each kind', () => {
    expect(validateDocuments('samples', [sample(0), sample(1, { device: { kind: 'gpu', temperatureC: 71.5, powerW: 180 } })])).toHaveLength(2);
    expect(validateDocuments('rollups', [rollup(3)])).toHaveLength(1);
    expect(validateDocuments('shares', [share(1, { result: 'rejected', reason: 'low difficulty' })])).toHaveLength(1);
  });

  it('rejects an invalid document with the index and the field named', () => {
    const docs = [sample(0), { ...sample(1), hashrate: 'fast' }];
    let err: unknown;
    try {
      validateDocuments('samples', docs);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreValidationError);
    const v = err as StoreValidationError;
    expect(v.message).toMatch(/^invalid samples document #1: hashrate: /);
    expect(v.fields).toEqual(['hashrate']);
    expect(v.index).toBe(1);
  });

  it('rejects misaligned windows, bad hex, unknown fields, negative counts and missing keys', () => {
    expect(() => validateDocuments('samples', [sample(0, { windowStart: new Date(Date.UTC(2026, 0, 1, 0, 0, 30)) })])).toThrow(
      /windowStart: windowStart 2026-01-01T00:00:30.000Z is not aligned to windowSeconds=60/,
    );
    expect(() => validateDocuments('shares', [share(0, { nonce: 'zz' })])).toThrow(/nonce: must be hexadecimal/);
    expect(() => validateDocuments('shares', [share(0, { ntime: 'abc' })])).toThrow(/ntime: must be 8 hex digits/);
    expect(() => validateDocuments('rollups', [{ ...rollup(0), extra: true }])).toThrow(/invalid rollups document #0: .*extra/);
    expect(() => validateDocuments('rollups', [rollup(0, { shares: { accepted: -1, rejected: 0, stale: 0 } })])).toThrow(/shares\.accepted: /);
    const { fleet: _fleet, ...noFleet } = sample(0);
    expect(() => validateDocuments('samples', [noFleet])).toThrow(/fleet: /);
    expect(() =>
      validateDocuments('events', [
        { eventId: 'e1', namespace: 'mining', type: 'failover', severity: 'info', reason: 'PoolDown', message: 'm', time: new Date() },
      ]),
    ).toThrow(/fleet: an event names a fleet, a pool or both/);
    expect(() => validateDocuments('probes', [{ namespace: 'mining', pool: 'p', time: 'yesterday', ok: true }])).toThrow(/time: /);
  });
});
