/**
 * Desired objects of external-miner fleets: the supervisor Deployment of a network fleet, the
 * external miner + supervisor sidecar of a gpu/usb fleet, the supervisor's config (parsed with
 * the miner's own schema), credentials only as Secret references, suspension on the live channel.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { MinerConfigSchema } from '../../miner/src/config/schema.js';
import { desiredFleetObjects, SUPERVISOR_COMMAND, type DesiredFleetObjects } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { computeStatus } from '../../operator/src/controllers/minerfleet/status.js';
import { fleet, inputs, pool } from './fixtures.js';

const podOf = (d: DesiredFleetObjects): V1PodSpec => d.deployment.spec!.template.spec!;
const container = (d: DesiredFleetObjects, name: string): V1Container => podOf(d).containers.find((c) => c.name === name)!;
const configOf = (d: DesiredFleetObjects) => MinerConfigSchema.parse(parseYaml(d.configMap.data!['miner.yaml']!));
const runtimeOf = (d: DesiredFleetObjects) => JSON.parse(d.runtimeConfigMap.data!['runtime.json']!) as Record<string, unknown>;

const network = (extra: Record<string, unknown> = {}) =>
  fleet({
    device: {
      kind: 'network',
      network: {
        targets: [
          { name: 'l3-a', host: '10.0.0.5', model: 'antminer-l3plus' },
          { name: 'l3-b', host: 'l3-b.rack1.lan', port: 14028 },
        ],
        pollIntervalSeconds: 2,
        requestTimeoutMs: 1500,
      },
    },
    miner: { backend: 'network' },
    pools: [
      { name: 'primary', priority: 0 },
      { name: 'backup', priority: 1 },
    ],
    ...extra,
  });
const pools = [pool('primary'), pool('backup')];

describe('network fleet: the supervisor Deployment', () => {
  it('runs only `miner supervise`, restricted, Recreate, with the targets in its config', () => {
    const d = desiredFleetObjects(inputs(network(), pools));
    const pod = podOf(d);
    expect(pod.containers.map((c) => c.name)).toEqual(['supervisor']);
    const sup = container(d, 'supervisor');
    expect(sup.command).toEqual(SUPERVISOR_COMMAND);
    expect(sup.image).toBe('ghcr.io/example/minefleet:1.2.3');
    expect(sup.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod.volumes!.some((v) => v.hostPath)).toBe(false);
    expect(sup.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(d.deployment.spec!.strategy).toEqual({ type: 'Recreate' });
    expect(d.deployment.spec!.template.metadata!.annotations!['kubectl.kubernetes.io/default-container']).toBe('supervisor');
    expect(sup.readinessProbe?.httpGet?.path).toBe('/readyz');

    const cfg = configOf(d);
    expect(cfg.external).toEqual({
      devices: [
        { name: 'l3-a', host: '10.0.0.5', port: 4028, model: 'antminer-l3plus' },
        { name: 'l3-b', host: 'l3-b.rack1.lan', port: 14028 },
      ],
      pollIntervalSeconds: 2,
      requestTimeoutMs: 1500,
      maxReplyBytes: 1024 * 1024,
    });
    expect(cfg.pools.map((p) => [p.name, p.userEnv, p.passwordEnv])).toEqual([
      ['primary', 'MINEFLEET_POOL_0_USER', 'MINEFLEET_POOL_0_PASSWORD'],
      ['backup', 'MINEFLEET_POOL_1_USER', 'MINEFLEET_POOL_1_PASSWORD'],
    ]);
    expect(cfg.runtime).toEqual({ kubernetes: { namespace: 'farm', configMapName: 'rig-runtime', key: 'runtime.json' } });
    // A supervisor hashes nothing: no backend section is written (the schema's default applies).
    expect(parseYaml(d.configMap.data!['miner.yaml']!).backend).toBeUndefined();
  });

  it('credentials reach the supervisor only as Secret references', () => {
    const d = desiredFleetObjects(inputs(network(), pools));
    const env = container(d, 'supervisor').env!;
    expect(env.find((e) => e.name === 'MINEFLEET_POOL_1_PASSWORD')).toEqual({
      name: 'MINEFLEET_POOL_1_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'backup-login', key: 'password' } },
    });
    expect(env.filter((e) => e.name.startsWith('MINEFLEET_POOL_')).every((e) => e.value === undefined && e.valueFrom?.secretKeyRef)).toBe(true);
  });

  it('a target change rolls the supervisor (checksum), a pool decision does not', () => {
    const a = desiredFleetObjects(inputs(network(), pools));
    const b = desiredFleetObjects(inputs(network(), pools, 'backup'));
    const moved = network();
    moved.spec.device.network!.targets![1]!.host = '10.0.0.6';
    const c = desiredFleetObjects(inputs(moved, pools));
    const sum = (d: DesiredFleetObjects) => d.deployment.spec!.template.metadata!.annotations!['minefleet.io/config-checksum'];
    expect(sum(b)).toBe(sum(a));
    expect(sum(c)).not.toBe(sum(a));
    expect(runtimeOf(b).activePool).toBe('backup');
  });

  it('economic suspension and spec.paused keep the supervisor and disable the devices', () => {
    const running = desiredFleetObjects(inputs(network(), pools));
    expect(running.deployment.spec!.replicas).toBe(1);
    expect(runtimeOf(running).suspended).toBeUndefined();
    const suspended = desiredFleetObjects(inputs(network(), pools, 'primary', { suspended: true }));
    expect(suspended.deployment.spec!.replicas).toBe(1);
    expect(runtimeOf(suspended)).toEqual({ activePool: 'primary', revision: 0, suspended: true });
    const paused = desiredFleetObjects(inputs(network({ paused: true }), pools));
    expect(paused.deployment.spec!.replicas).toBe(1);
    expect(runtimeOf(paused).suspended).toBe(true);
    // replicas 0: no supervisor at all (the devices are left as they are).
    expect(desiredFleetObjects(inputs(network({ replicas: 0 }), pools)).deployment.spec!.replicas).toBe(0);
    // Our own miners still scale to 0 and never see the flag.
    const cpu = desiredFleetObjects(inputs(fleet({ miner: { backend: 'cpu', threads: 1 } }), [pool('primary')], 'primary', { suspended: true }));
    expect(cpu.deployment.spec!.replicas).toBe(0);
    expect(runtimeOf(cpu).suspended).toBeUndefined();
  });

  it('status.devices counts the targets; Ready says the devices are disabled while paused', () => {
    const f = network({ paused: true });
    const s = computeStatus({
      fleet: f,
      selector: 'x',
      activePool: 'primary',
      missing: [],
      deployment: { metadata: { generation: 1 }, spec: { replicas: 1 }, status: { replicas: 1, readyReplicas: 1, observedGeneration: 1 } },
      desiredReplicas: 1,
      now: '2026-12-02T05:00:00Z',
    });
    expect(s.devices).toBe(2);
    expect(s.conditions!.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'Paused',
      message: expect.stringContaining('disables every device'),
    });
  });
});

describe('network fleet with targetsFrom and targetsPerPod', () => {
  const farm = (perPod: number, replicas = 1) =>
    fleet({
      replicas,
      device: { kind: 'network', network: { targetsFrom: { configMapRef: { name: 'rack-1' } }, targetsPerPod: perPod } },
      miner: { backend: 'network' },
      pools: [{ name: 'primary', priority: 0 }],
    });
  const resolved = Array.from({ length: 5 }, (_, i) => ({ name: `asic-${i}`, host: `10.0.1.${i + 1}`, port: 4028 + (i % 2) }));

  it('renders the resolved targets into the config and the NetworkPolicy, ceil(N/k) pods, the assignment in runtime.json', () => {
    const d = desiredFleetObjects(
      inputs(farm(3), [pool('primary')], 'primary', {
        networkTargets: resolved,
        deviceAssignments: { 'p-b': ['asic-3', 'asic-4'], 'p-a': ['asic-0', 'asic-1', 'asic-2'] },
      }),
    );
    expect(configOf(d).external!.devices.map((x) => x.name)).toEqual(resolved.map((t) => t.name));
    expect(d.deployment.spec!.replicas).toBe(2);
    expect(runtimeOf(d).deviceAssignments).toEqual({ 'p-a': ['asic-0', 'asic-1', 'asic-2'], 'p-b': ['asic-3', 'asic-4'] });
    expect(Object.keys(runtimeOf(d).deviceAssignments as object)).toEqual(['p-a', 'p-b']); // sorted: stable bytes
    const egress = JSON.stringify(d.networkPolicy!.spec!.egress);
    for (const t of resolved) expect(egress).toContain(`"cidr":"${t.host}/32"`);
    expect(egress).toContain('"port":4029');
    // Off, one per pod, all in one.
    expect(desiredFleetObjects(inputs(farm(3, 0), [pool('primary')], 'primary', { networkTargets: resolved })).deployment.spec!.replicas).toBe(0);
    expect(desiredFleetObjects(inputs(farm(1), [pool('primary')], 'primary', { networkTargets: resolved })).deployment.spec!.replicas).toBe(5);
    const one = desiredFleetObjects(inputs(farm(1000), [pool('primary')], 'primary', { networkTargets: resolved }));
    expect(one.deployment.spec!.replicas).toBe(1);
    expect(runtimeOf(one).deviceAssignments).toBeUndefined();
  });

  it('refuses to render a targetsFrom fleet whose list is not resolved', () => {
    expect(() => desiredFleetObjects(inputs(farm(3), [pool('primary')], 'primary'))).toThrow(/no targets to render/);
  });
});

describe('gpu/usb fleet with spec.miner.external: external miner + supervisor sidecar', () => {
  const usb = () =>
    fleet({
      replicas: 3,
      device: { kind: 'usb', hostDevices: ['/dev/ttyUSB0'] },
      miner: {
        backend: 'usb',
        imagePullPolicy: 'IfNotPresent',
        resources: { limits: { cpu: '2' } },
        external: { image: 'example/bfgminer:5.5', command: ['bfgminer'], args: ['--api-listen', '--api-port', '4111'], apiPort: 4111, model: 'usb-stick' },
      },
    });

  it('the device goes to the external miner, credentials and config to the sidecar', () => {
    const d = desiredFleetObjects(inputs(usb(), [pool('primary')]));
    const pod = podOf(d);
    expect(pod.containers.map((c) => c.name)).toEqual(['miner', 'supervisor']);
    const miner = container(d, 'miner');
    expect(miner.image).toBe('example/bfgminer:5.5');
    expect(miner.command).toEqual(['bfgminer']);
    expect(miner.args).toEqual(['--api-listen', '--api-port', '4111']);
    expect(miner.imagePullPolicy).toBe('IfNotPresent');
    expect(miner.env).toBeUndefined();
    expect(miner.volumeMounts!.map((m) => m.mountPath)).toEqual(['/tmp', '/dev/ttyUSB0']);
    expect(miner.securityContext?.privileged).toBe(true); // hostPath tty: the device cgroup
    expect(miner.resources?.limits?.cpu).toBe('2'); // spec.miner.resources: the container that hashes

    const sup = container(d, 'supervisor');
    expect(sup.image).toBe('ghcr.io/example/minefleet:1.2.3');
    expect(sup.command).toEqual(SUPERVISOR_COMMAND);
    expect(sup.securityContext).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    expect(sup.resources).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '250m', memory: '192Mi' } });
    expect(sup.ports).toEqual([{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }]);
    expect(sup.env!.some((e) => e.valueFrom?.secretKeyRef?.name === 'primary-login')).toBe(true);
    expect(sup.volumeMounts!.some((m) => m.mountPath === '/dev/ttyUSB0')).toBe(false);
    expect(d.deployment.spec!.template.metadata!.annotations!['kubectl.kubernetes.io/default-container']).toBe('miner');

    const cfg = configOf(d);
    expect(cfg.external!.devices).toEqual([{ name: 'usb', host: '127.0.0.1', port: 4111, model: 'usb-stick' }]);
    expect(cfg.backend).toEqual({ kind: 'usb', devices: ['/dev/ttyUSB0'] });
  });

  it('suspension scales the pods away (the external miner stops with them); status.devices is one per pod', () => {
    const d = desiredFleetObjects(inputs(usb(), [pool('primary')], 'primary', { suspended: true }));
    expect(d.deployment.spec!.replicas).toBe(0);
    expect(runtimeOf(d).suspended).toBeUndefined();
    const s = computeStatus({
      fleet: usb(),
      selector: 'x',
      activePool: 'primary',
      missing: [],
      deployment: { metadata: { generation: 1 }, spec: { replicas: 3 }, status: { replicas: 3, readyReplicas: 3, observedGeneration: 1 } },
      desiredReplicas: 3,
      now: '2026-12-02T05:00:00Z',
    });
    expect(s.devices).toBe(3);
  });

  it('a gpu fleet: the GPU resource on the external miner, apiPort default 4028', () => {
    const d = desiredFleetObjects(
      inputs(
        fleet({ device: { kind: 'gpu', resourceName: 'nvidia.com/gpu', perPod: 2 }, miner: { backend: 'gpu', external: { image: 'example/sgminer:5' } } }),
        [pool('primary')],
      ),
    );
    expect(container(d, 'miner').resources!.limits!['nvidia.com/gpu']).toBe('2');
    expect(container(d, 'supervisor').resources!.limits!['nvidia.com/gpu']).toBeUndefined();
    expect(configOf(d).external!.devices).toEqual([{ name: 'gpu', host: '127.0.0.1', port: 4028 }]);
  });

  it('fleets without external miners render exactly as before (no sidecar, no external section)', () => {
    const d = desiredFleetObjects(inputs(fleet({ miner: { backend: 'cpu', threads: 2 } }), [pool('primary')]));
    expect(podOf(d).containers.map((c) => c.name)).toEqual(['miner']);
    expect(configOf(d).external).toBeUndefined();
  });
});
