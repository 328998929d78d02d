/**
 * The bad-input table against zod in-process: the operator validates with the same rules as the
 * CRD, and each error line names the field path.
 */
import { describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  MinerFleetSpecSchema,
  MiningPoolSpecSchema,
  validateMinerFleetSpec,
  validateMiningPoolSpec,
  resolveJsonFieldPath,
} from '../../operator/src/api/v1alpha1/index.js';
import { BAD_INPUTS } from './bad-inputs.js';
import { validFleet, validPool, type Obj } from './fixtures.js';
import { parseTargetsText } from '../../operator/src/controllers/minerfleet/targets.js';
import { DEFAULT_METRICS_PORT } from '../../operator/src/controllers/minerfleet/desired/miner-config.js';
import { SUPERVISOR_METRICS_PORT } from '../../operator/src/api/v1alpha1/index.js';
import { MetricsConfigSchema } from '../../miner/src/config/schema.js';
import { EXTERNAL_MINER_SAMPLE, localSamples } from '../support/samples.js';

function validate(o: Obj) {
  return o.kind === 'MiningPool' ? validateMiningPoolSpec(o.spec) : validateMinerFleetSpec(o.spec, o.metadata?.name);
}

describe('zod validation (in-process twin of the CRD)', () => {
  it('accepts the valid fixtures and applies defaults', () => {
    const pool = MiningPoolSpecSchema.parse(validPool().spec);
    expect(pool.credentialsSecretRef).toEqual({ name: 'pool-creds', userKey: 'username', passwordKey: 'password' });
    expect(pool.workerNameTemplate).toBe('{{fleet}}.{{pod}}');
    expect(pool.probe).toEqual({ intervalSeconds: 30, timeoutSeconds: 10, failureThreshold: 3, successThreshold: 1 });
    expect(pool.tls?.caSecretRef?.key).toBe('ca.crt');
    expect(pool.feePercent).toBe(0);

    const fleet = MinerFleetSpecSchema.parse(validFleet().spec);
    expect(fleet.device).toEqual({ kind: 'cpu', perPod: 1 });
    expect(fleet.failover).toEqual({ strategy: 'Priority', failbackAfterSeconds: 300 });
    expect(fleet.pools.map((p) => p.weight)).toEqual([1, 1]);
    expect(fleet.economics).toMatchObject({
      enabled: true,
      minMarginPercent: 0,
      resumeMarginPercent: 10,
      evaluationWindowSeconds: 900,
      minOffSeconds: 1800,
      onStaleFeed: 'Hold',
      electricityPrice: { perKWh: 0.1, currency: 'USD' },
    });
    expect(fleet.economics?.feeds?.LTC?.difficulty.litecoind?.credentialsSecretRef.userKey).toBe('username');
    expect(fleet.paused).toBe(false);
    expect(fleet.history).toEqual({ enabled: true, retentionDays: 7, shares: 'all' });
  });

  it('accepts every sample in k8s/samples', async () => {
    const dir = join(import.meta.dirname, '../../k8s/samples');
    const kinds: string[] = [];
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
        const o = doc.toJS() as Obj;
        kinds.push(o.kind);
        if (o.kind === 'Secret') continue;
        if (o.kind === 'ConfigMap') {
          // A targetsFrom list: the operator's own parser accepts it.
          for (const [key, text] of Object.entries(o.data as Record<string, string>))
            expect(parseTargetsText(text), `${file} ${o.metadata?.name} ${key}`).toMatchObject({ ok: true });
          continue;
        }
        const r = validate(o);
        expect(r.ok ? [] : r.errors, `${file} ${o.metadata?.name}`).toEqual([]);
      }
    }
    expect(kinds.filter((k) => k === 'MinerFleet')).toHaveLength(6);
    expect(kinds.filter((k) => k === 'ConfigMap')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'MiningPool')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'Secret').length).toBeGreaterThanOrEqual(2);
  });

  it('the port an external miner API may not take is the one the operator renders for the sidecar', () => {
    expect(SUPERVISOR_METRICS_PORT).toBe(DEFAULT_METRICS_PORT);
    expect(MetricsConfigSchema.parse({}).port).toBe(SUPERVISOR_METRICS_PORT);
  });

  it('localSamples leaves the external-miner sample out unless given a local external miner, which it then validates with', () => {
    const pools = { mergedUrl: 'stratum+tcp://127.0.0.1:3333', tlsUrl: 'stratum+ssl://127.0.0.1:3334', tlsCaPem: 'PEM', tlsServerName: 'pool.test' };
    const fleets = (objs: Obj[]) => objs.filter((o) => o.kind === 'MinerFleet').map((o) => o.metadata.name as string);
    expect(fleets(localSamples({ pools }))).not.toContain(EXTERNAL_MINER_SAMPLE);
    expect(() => localSamples({ pools, fleets: [EXTERNAL_MINER_SAMPLE] })).toThrow(/needs LocalSampleOptions.externalMiner/);
    const objs = localSamples({
      pools,
      fleets: [EXTERNAL_MINER_SAMPLE],
      usbDevices: ['/dev/minefleet-test-tty0'],
      externalMiner: { image: 'minefleet:dev', command: ['node', 'dist/miner/src/main.js', 'emulate-asic'], args: ['--model', 'usb-stick', '--port', '4028'] },
    });
    const ext = objs.find((o) => o.metadata.name === EXTERNAL_MINER_SAMPLE)! as Obj;
    expect(ext.spec.miner.external).toEqual({
      image: 'minefleet:dev',
      command: ['node', 'dist/miner/src/main.js', 'emulate-asic'],
      args: ['--model', 'usb-stick', '--port', '4028'],
      apiPort: 4028,
    });
    expect(ext.spec.device).toMatchObject({ hostDevices: ['/dev/minefleet-test-tty0'], perPod: 1 });
    const r = validate(ext);
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  const zodCases = BAD_INPUTS.filter((c) => c.zod !== false);
  it('covers most of the bad-input table', () => {
    expect(zodCases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(zodCases.map((c) => [c.name, c] as const))('rejects: %s', (_name, c) => {
    const r = validate(c.make());
    expect(r.ok, `${c.name} was accepted`).toBe(false);
    if (r.ok) return;
    const fragment = (c.zod as string).toLowerCase();
    const line = r.errors.find((e) => e.toLowerCase().includes(fragment) && e.includes(c.path));
    expect(line, `no error naming ${c.path} with "${c.zod}" in:\n${r.errors.join('\n')}`).toBeDefined();
  });

  it('resolves feed field paths and names the missing segment', () => {
    const doc = { litecoin: { usd: 81.5 }, data: [{ price: 1 }, { price: 2 }] };
    expect(resolveJsonFieldPath(doc, 'litecoin.usd')).toBe(81.5);
    expect(resolveJsonFieldPath(doc, 'data[1].price')).toBe(2);
    expect(() => resolveJsonFieldPath(doc, 'litecoin.eur')).toThrow(/no key "eur" at litecoin/);
    expect(() => resolveJsonFieldPath(doc, 'data[5].price')).toThrow(/no index \[5\] at data/);
    expect(() => resolveJsonFieldPath(doc, 'data..price')).toThrow(/not a dot path/);
  });
});
