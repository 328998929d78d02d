import { describe, expect, it } from 'vitest';
import { missingReferences, selectActivePool, usablePools } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { fleet, pool } from './fixtures.js';

const secret = (name: string, ...keys: string[]) => ({
  metadata: { name },
  data: Object.fromEntries(keys.map((k) => [k, Buffer.from(`value-of-${k}`).toString('base64')])),
});

describe('selectActivePool', () => {
  it('picks the existing pool with the lowest priority number, whatever the input order', () => {
    const f = fleet({
      pools: [
        { name: 'c', priority: 3 },
        { name: 'a', priority: 1 },
        { name: 'b', priority: 2 },
      ],
    });
    expect(selectActivePool(f, [pool('c'), pool('b'), pool('a')])).toBe('a');
    expect(selectActivePool(f, [pool('c'), pool('b')])).toBe('b');
    // pools the fleet does not reference are ignored
    expect(selectActivePool(f, [pool('zzz'), pool('c')])).toBe('c');
    expect(selectActivePool(f, [])).toBeUndefined();
    expect(selectActivePool(f, [pool('unrelated')])).toBeUndefined();
  });
});

describe('missingReferences', () => {
  const f = fleet({
    pools: [
      { name: 'ok', priority: 0 },
      { name: 'gone', priority: 1 },
      { name: 'nosecret', priority: 2 },
      { name: 'nokey', priority: 3 },
      { name: 'noca', priority: 4 },
    ],
  });
  const pools = [
    pool('ok', { credentialsSecretRef: { name: 'login' } }),
    pool('nosecret', { credentialsSecretRef: { name: 'absent' } }),
    pool('nokey', { credentialsSecretRef: { name: 'partial', userKey: 'wallet', passwordKey: 'pw' } }),
    pool('noca', {
      url: 'stratum+ssl://noca.example:3443',
      credentialsSecretRef: { name: 'login' },
      tls: { caSecretRef: { name: 'ca-bundle', key: 'root.pem' } },
    }),
  ];
  const secrets = [secret('login', 'username', 'password'), secret('partial', 'wallet'), secret('ca-bundle', 'ca.crt')];

  it('names each missing pool, Secret and Secret key, in spec order, once per pool', () => {
    expect(missingReferences(f, pools, secrets)).toEqual([
      { kind: 'MiningPool', name: 'gone', pool: 'gone', message: 'MiningPool "gone" not found in namespace "farm"' },
      { kind: 'Secret', name: 'absent', pool: 'nosecret', message: 'Secret "absent" (username of MiningPool "nosecret") not found in namespace "farm"' },
      { kind: 'SecretKey', name: 'partial', key: 'pw', pool: 'nokey', message: 'Secret "partial" has no key "pw" (password of MiningPool "nokey")' },
      {
        kind: 'SecretKey',
        name: 'ca-bundle',
        key: 'root.pem',
        pool: 'noca',
        message: 'Secret "ca-bundle" has no key "root.pem" (TLS CA of MiningPool "noca")',
      },
    ]);
  });

  it('is empty when everything resolves, and never leaks Secret values into messages', () => {
    const fixed = [
      ...secrets.filter((s) => s.metadata.name !== 'partial' && s.metadata.name !== 'ca-bundle'),
      secret('partial', 'wallet', 'pw'),
      secret('absent', 'username', 'password'),
      secret('ca-bundle', 'root.pem'),
    ];
    const all = [...pools, pool('gone', { credentialsSecretRef: { name: 'login' } })];
    expect(missingReferences(f, all, fixed)).toEqual([]);
    const text = JSON.stringify(missingReferences(f, pools, secrets));
    for (const s of secrets) for (const v of Object.values(s.data)) expect(text).not.toContain(v);
    expect(text).not.toContain('value-of-');
  });

  it('usablePools keeps only the referenced pools whose every reference resolves', () => {
    expect(usablePools(f, [...pools, pool('unreferenced')], secrets).map((p) => p.metadata.name)).toEqual(['ok']);
  });
});
