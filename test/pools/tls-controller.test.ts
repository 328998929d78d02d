/**
 * TLS by policy through the controllers on a real API server, against real TLS test pools: the
 * MiningPool's TLSVerified condition per kind of pool (verified with its CA Secret, an expired
 * certificate, insecureSkipVerify, plain text), the one Warning Event insecureSkipVerify raises,
 * and the rendered miner config honouring it; then an operator restarted with requireTLS: plain
 * and unverified pools are no longer probed (the test pools see no login), get TLSRequired, and
 * are left out of the fleet's miner config, which fails over to the verified pool.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { setupMinerFleetController } from '../../operator/src/controllers/minerfleet/controller.js';
import { MINER_CONFIG_KEY } from '../../operator/src/controllers/minerfleet/desired/miner-config.js';
import { setupMiningPoolController } from '../../operator/src/controllers/miningpool/controller.js';
import type { TlsPolicy } from '../../operator/src/controllers/miningpool/tls-policy.js';
import { Manager } from '../../operator/src/runtime/manager.js';
import { KubeRest } from '../../operator/src/runtime/rest.js';
import { MemoryAuditSink } from '../../operator/src/store/audit.js';
import { captureLogger, startControlPlane, type ControlPlane } from '../support/index.js';
import { G, getOrUndefined, prepareNamespace, RIG_POOL_PASSWORD } from '../support/fleetRig.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { eventually } from '../operator/helpers.js';

type Any = any;
const NS = 'tls';
const FLEET = 'farm';
let cp: ControlPlane;
let rest: KubeRest;
const { log, lines: logLines } = captureLogger();
const stratum: StratumPool[] = [];
let operator: { stop: () => Promise<void> } | undefined;

const get = (p: string): Promise<Any | undefined> => getOrUndefined(rest, p);
const mp = (name: string) => get(`${G}/namespaces/${NS}/miningpools/${name}`);
const cond = (o: Any, type: string) => o?.status?.conditions?.find((c: Any) => c.type === type);
const events = async (kind: string, name: string) =>
  (((await get(`/api/v1/namespaces/${NS}/events`))?.items ?? []) as Any[]).filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name);
const minerConfig = async () => {
  const cm = await get(`/api/v1/namespaces/${NS}/configmaps/${FLEET}-config`);
  return cm
    ? (parseYaml(cm.data[MINER_CONFIG_KEY]) as { pools: Array<{ name: string; url: string; tls?: Record<string, unknown> }>; activePool: string })
    : undefined;
};
const poolNames = async () => (await minerConfig())?.pools.map((p) => p.name).sort() ?? [];

/** An operator (both controllers) with the given TLS policy, as main.ts wires it. */
function startOperator(tlsPolicy: TlsPolicy) {
  const mgr = new Manager({ kubeConfig: cp.kubeConfig, logger: log, probePort: 0, metricsPort: 0, bindHost: '127.0.0.1' });
  const audit = new MemoryAuditSink();
  setupMiningPoolController(mgr, { concurrency: 4, audit, tlsPolicy }, log);
  setupMinerFleetController(mgr, { minerImage: 'minefleet:test', concurrency: 2, backoffMaxMs: 2000, audit, tlsPolicy }, log);
  const running = mgr.start();
  return {
    stop: async () => {
      await mgr.stop();
      await running.catch(() => undefined);
    },
  };
}

async function pool(opts: Parameters<typeof startStratumPool>[0]) {
  const p = await startStratumPool({ difficulty: 0.001, ...opts });
  stratum.push(p);
  return p;
}

let verified: StratumPool;
let expired: StratumPool;
let skip: StratumPool;
let plain: StratumPool;

beforeAll(async () => {
  cp = await startControlPlane();
  rest = new KubeRest(cp.kubeConfig);
  await prepareNamespace(cp, rest, NS);
  verified = await pool({ tls: { certificate: 'valid' } });
  expired = await pool({ tls: { certificate: 'expired' } });
  skip = await pool({ tls: { certificate: 'expired' } }); // nothing is verified: even an expired certificate connects
  plain = await pool({});
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'pool-ca', namespace: NS },
    stringData: { 'ca.crt': readFileSync(verified.caFile!, 'utf8') },
  });
  await rest.create(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'expired-ca', namespace: NS },
    stringData: { 'ca.crt': readFileSync(expired.caFile!, 'utf8') },
  });
  const probe = { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1, successThreshold: 1 };
  const spec = (p: StratumPool, tls?: Record<string, unknown>) => ({
    url: p.url,
    coins: ['LTC'],
    credentialsSecretRef: { name: 'creds' },
    probe,
    ...(tls ? { tls } : {}),
  });
  for (const [name, s] of [
    ['plain', spec(plain)],
    ['skip', spec(skip, { insecureSkipVerify: true, serverName: skip.serverName })],
    ['verified', spec(verified, { caSecretRef: { name: 'pool-ca' }, serverName: verified.serverName })],
    ['expired', spec(expired, { caSecretRef: { name: 'expired-ca' }, serverName: expired.serverName })],
  ] as const)
    await rest.create(`${G}/namespaces/${NS}/miningpools`, {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MiningPool',
      metadata: { name, namespace: NS },
      spec: s,
    });
  await rest.create(`${G}/namespaces/${NS}/minerfleets`, {
    apiVersion: 'minefleet.io/v1alpha1',
    kind: 'MinerFleet',
    metadata: { name: FLEET, namespace: NS },
    spec: {
      replicas: 1,
      device: { kind: 'cpu' },
      miner: { backend: 'cpu', threads: 1 },
      pools: [
        { name: 'plain', priority: 0 },
        { name: 'skip', priority: 1 },
        { name: 'verified', priority: 2 },
      ],
      failover: { strategy: 'Priority', failbackAfterSeconds: 5 },
    },
  });
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  for (const p of stratum) await p.stop();
  await cp?.stop();
  expect(logLines.join('\n')).not.toContain(RIG_POOL_PASSWORD);
});

describe('TLS policy through the controllers', () => {
  it('default policy: TLSVerified per kind of pool, one InsecureSkipVerify Warning, the miner config honours the skip', async () => {
    operator = startOperator({ requireTls: false });
    for (const [name, available, tlsStatus, tlsReason] of [
      ['verified', 'True', 'True', 'Verified'],
      ['expired', 'False', 'False', 'TLSFailed'],
      ['skip', 'True', 'False', 'InsecureSkipVerify'],
      ['plain', 'True', 'False', 'PlainText'],
    ] as const) {
      const o = await eventually(
        async () => {
          const p = await mp(name);
          return cond(p, 'TLSVerified')?.reason === tlsReason && cond(p, 'Available')?.status === available ? p : undefined;
        },
        `${name}: TLSVerified ${tlsReason}, Available ${available}`,
        60_000,
      );
      expect(cond(o, 'TLSVerified').status).toBe(tlsStatus);
      expect(cond(o, 'TLSVerified').message).not.toBe('');
      expect(JSON.stringify(o.status)).not.toContain(RIG_POOL_PASSWORD);
    }
    expect(cond(await mp('expired'), 'TLSVerified').message).toMatch(/certificate expired/);
    expect(cond(await mp('expired'), 'Available').reason).toBe('TLSFailed');
    expect(cond(await mp('skip'), 'TLSVerified').message).toMatch(/spec\.tls\.insecureSkipVerify/);

    // Probes every 5 s: after two more of them the skip pool still has exactly one Warning.
    await new Promise((r) => setTimeout(r, 11_000));
    const warned = (await events('MiningPool', 'skip')).filter((e) => e.reason === 'InsecureSkipVerify');
    expect(warned).toHaveLength(1);
    expect(warned[0].type).toBe('Warning');
    expect(warned[0].count ?? 1).toBe(1);
    for (const name of ['verified', 'plain', 'expired'])
      expect((await events('MiningPool', name)).filter((e) => e.reason === 'InsecureSkipVerify')).toEqual([]);
    expect(skip.logins.some((l) => l.password === RIG_POOL_PASSWORD)).toBe(true);

    // All three pools rendered; only the skip pool's entry skips verification; the verified one carries its CA file.
    const cfg = await eventually(async () => ((await poolNames()).length === 3 ? minerConfig() : undefined), 'three pools rendered', 30_000);
    const byName = Object.fromEntries(cfg.pools.map((p) => [p.name, p]));
    expect(byName.skip!.tls).toMatchObject({ insecureSkipVerify: true });
    expect(byName.verified!.tls?.insecureSkipVerify).toBeUndefined();
    expect(byName.verified!.tls?.caFile).toEqual(expect.any(String));
    expect(byName.plain!.tls).toBeUndefined();
    expect(cfg.activePool).toBe('plain');
  }, 120_000);

  it('requireTLS: plain and unverified pools are not probed, get TLSRequired, and leave the fleet, which moves to the verified pool', async () => {
    await operator!.stop();
    operator = startOperator({ requireTls: true });
    for (const name of ['plain', 'skip']) {
      const o = await eventually(
        async () => {
          const p = await mp(name);
          return cond(p, 'Available')?.reason === 'TLSRequired' ? p : undefined;
        },
        `${name}: Available TLSRequired`,
        60_000,
      );
      expect(cond(o, 'Available').status).toBe('False');
      expect(cond(o, 'TLSVerified')).toMatchObject({ status: 'False', reason: 'TLSRequired' });
      expect(cond(o, 'Available').message).toMatch(name === 'plain' ? /spec\.url uses stratum\+tcp/ : /spec\.tls\.insecureSkipVerify is true/);
      expect((await events('MiningPool', name)).some((e) => e.reason === 'TLSRequired' && e.type === 'Warning')).toBe(true);
    }
    // The verified pool is untouched by the policy.
    expect(cond(await mp('verified'), 'TLSVerified')).toMatchObject({ status: 'True', reason: 'Verified' });
    expect(cond(await mp('verified'), 'Available').status).toBe('True');

    // Refused pools are no longer probed: no new login reaches them over 2 probe intervals.
    const before = { plain: plain.logins.length, skip: skip.logins.length, verified: verified.logins.length };
    await new Promise((r) => setTimeout(r, 11_000));
    expect(plain.logins.length).toBe(before.plain);
    expect(skip.logins.length).toBe(before.skip);
    expect(verified.logins.length).toBeGreaterThan(before.verified);

    // The fleet renders only the verified pool, says why, and names both refused pools.
    await eventually(async () => JSON.stringify(await poolNames()) === JSON.stringify(['verified']), 'only the verified pool rendered', 30_000);
    expect((await minerConfig())!.activePool).toBe('verified');
    const fleet = await get(`${G}/namespaces/${NS}/minerfleets/${FLEET}`);
    const pa = cond(fleet, 'PoolAvailable');
    expect(pa).toMatchObject({ status: 'False', reason: 'TLSRequired' });
    expect(pa.message).toMatch(/MiningPool "plain" refused/);
    expect(pa.message).toMatch(/MiningPool "skip" refused/);
    expect((await events('MinerFleet', FLEET)).some((e) => e.reason === 'TLSRequired' && e.type === 'Warning')).toBe(true);
  }, 120_000);
});
