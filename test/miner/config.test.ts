import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigText, renderWorkerName, resolveCredentials } from '../../miner/src/config/load.js';
import { devicesForPod, parseRuntimeState, RuntimeStateSchema } from '../../miner/src/config/runtime.js';
import { MinerConfigSchema } from '../../miner/src/config/schema.js';
import { nextPool, wantedPool } from '../../miner/src/pools/selector.js';

const base = `
pools:
  - name: a
    url: stratum+tcp://127.0.0.1:3333
    userEnv: POOL_USER
    passwordEnv: POOL_PASS
    workerNameTemplate: '{{fleet}}.{{pod}}'
  - name: b
    url: stratum+ssl://pool.example:443
    userEnv: POOL_USER
    tls: { serverName: pool.example }
activePool: a
`;

describe('miner config', () => {
  it('applies defaults and env identity', () => {
    const cfg = loadConfigText(base, { MINEFLEET_FLEET: 'f1', POD_NAME: 'p-0', POD_NAMESPACE: 'ns' });
    expect(cfg.failover).toEqual({
      fallbackAfterSeconds: 3,
      jobTimeoutSeconds: 5,
      submitTimeoutSeconds: 5,
      maxConsecutiveRejects: 10,
      idleTimeoutSeconds: 120,
      backoff: { initialMs: 1000, maxMs: 60000 },
    });
    expect(cfg.metrics).toEqual({ host: '0.0.0.0', port: 9100, shareHistory: 10_000 });
    expect(cfg.backend.kind).toBe('cpu');
    expect(cfg.logLevel).toBe('info');
    expect([cfg.fleet, cfg.pod, cfg.namespace]).toEqual(['f1', 'p-0', 'ns']);
  });

  it('accepts JSON as well as YAML', () => {
    const cfg = loadConfigText(JSON.stringify({ pools: [{ name: 'x', url: 'stratum+tcp://h:1', userEnv: 'U' }], activePool: 'x' }), {});
    expect(cfg.pools[0]!.name).toBe('x');
  });

  it.each([
    [base.replace('stratum+tcp://127.0.0.1:3333', 'http://x:1'), /pools\[0\]\.url: must be stratum\+tcp/],
    [base.replace('activePool: a', 'activePool: zzz'), /activePool: 'zzz' is not one of the pools/],
    [base.replace('name: b', 'name: a'), /pools\[1\]\.name: duplicate pool name 'a'/],
    [base.replace('userEnv: POOL_USER\n    passwordEnv', 'userEnv: "bad name"\n    passwordEnv'), /pools\[0\]\.userEnv: must be an environment variable name/],
    [base + 'backend: { kind: fpga }\n', /backend\.kind/],
    [base + 'metrics: { port: 70000 }\n', /metrics\.port/],
    [base + 'failover: { backoff: { initialMs: 5000, maxMs: 10 } }\n', /failover\.backoff\.maxMs: must be >= initialMs/],
    [base + 'bogus: 1\n', /bogus/],
    ['pools: [', /not valid YAML/],
    [base + 'runtime: { kubernetes: { namespace: ns } }\n', /runtime/],
  ])('rejects bad config %#', (text, re) => {
    expect(() => loadConfigText(text, {})).toThrow(ConfigError);
    expect(() => loadConfigText(text, {})).toThrow(re);
  });

  it('credentials come from env and form user.worker; missing env names the field', () => {
    const cfg = loadConfigText(base, { MINEFLEET_FLEET: 'f1', POD_NAME: 'p-0' });
    const env = { POOL_USER: 'alice', POOL_PASS: 's3cret' };
    expect(resolveCredentials(cfg, cfg.pools[0]!, env)).toEqual({ login: 'alice.f1.p-0', password: 's3cret' });
    expect(resolveCredentials(cfg, cfg.pools[1]!, env)).toEqual({ login: 'alice', password: 'x' });
    expect(() => resolveCredentials(cfg, cfg.pools[0]!, { POOL_USER: 'a' })).toThrow(/pools\[0\]\.passwordEnv: environment variable POOL_PASS is not set/);
    expect(renderWorkerName('{{ fleet }}-{{namespace}}', { fleet: 'f', namespace: 'n' })).toBe('f-n');
  });

  it('schema exports are usable by the operator (input type with defaults omitted)', () => {
    const parsed = MinerConfigSchema.parse({
      pools: [{ name: 'p', url: 'stratum+tcp://h:3333', userEnv: 'U' }],
      activePool: 'p',
      runtime: { kubernetes: { namespace: 'n', configMapName: 'f-runtime' } },
    });
    expect(parsed.runtime).toEqual({ kubernetes: { namespace: 'n', configMapName: 'f-runtime', key: 'runtime.json' } });
  });
});

describe('runtime state and pool choice', () => {
  it('deviceAssignments: absent = every device, present = exactly the pod’s list (none when not named)', () => {
    const st = parseRuntimeState(JSON.stringify({ activePool: 'a', revision: 4, deviceAssignments: { 'sup-0': ['asic-0', 'asic-1'], 'sup-1': [] } }));
    expect(devicesForPod(st, 'sup-0')).toEqual(new Set(['asic-0', 'asic-1']));
    expect(devicesForPod(st, 'sup-1')).toEqual(new Set());
    expect(devicesForPod(st, 'sup-9')).toEqual(new Set());
    expect(devicesForPod(st, undefined)).toEqual(new Set());
    expect(devicesForPod(parseRuntimeState('{"activePool":"a","revision":1}'), 'sup-0')).toBeNull();
    expect(() => parseRuntimeState('{"activePool":"a","revision":1,"deviceAssignments":{"sup-0":"asic-0"}}')).toThrow(/deviceAssignments\.sup-0/);
  });

  it('parses runtime.json and names bad fields', () => {
    expect(parseRuntimeState('{"activePool":"b","revision":3}')).toEqual({ activePool: 'b', revision: 3 });
    expect(() => parseRuntimeState('{')).toThrow(/not valid JSON/);
    expect(() => parseRuntimeState('{"activePool":"b","revision":-1}')).toThrow(/revision/);
    expect(RuntimeStateSchema.safeParse({ activePool: '' }).success).toBe(false);
  });
  it('runtime overrides static activePool only with a known pool; next pool wraps', () => {
    const cfg = loadConfigText(base, {});
    expect(wantedPool({ config: cfg })).toBe('a');
    expect(wantedPool({ config: cfg, runtimePool: 'b' })).toBe('b');
    expect(wantedPool({ config: cfg, runtimePool: 'nope' })).toBe('a');
    expect(nextPool(cfg, 'a')).toBe('b');
    expect(nextPool(cfg, 'b')).toBe('a');
  });
});
