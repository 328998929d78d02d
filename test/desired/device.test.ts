import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { V1PodSpec, V1SecurityContext } from '@kubernetes/client-node';
import { MinerConfigSchema } from '../../miner/src/config/schema.js';
import { desiredFleetObjects, fleetLabels, type DesiredFleetObjects } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { fleet, inputs, pool } from './fixtures.js';

const podOf = (d: DesiredFleetObjects): V1PodSpec => d.deployment.spec!.template.spec!;
const minerOf = (d: DesiredFleetObjects) => podOf(d).containers[0]!;
const backendOf = (d: DesiredFleetObjects) => MinerConfigSchema.parse(parseYaml(d.configMap.data!['miner.yaml']!)).backend;
const render = (spec: Parameters<typeof fleet>[0]) => desiredFleetObjects(inputs(fleet(spec), [pool('primary')]));

/**
 * The "restricted" Pod Security Standard, as the API server's pod-security admission checks it
 * (https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted).
 */
function restrictedViolations(pod: V1PodSpec): string[] {
  const out: string[] = [];
  const psc = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) out.push('host namespaces');
  for (const v of pod.volumes ?? []) {
    const allowed = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    if (!kinds.every((k) => allowed.includes(k))) out.push(`volume ${v.name} of type ${kinds.join(',')}`);
  }
  for (const c of pod.containers) {
    const sc: V1SecurityContext = c.securityContext ?? {};
    if (sc.privileged) out.push(`${c.name}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: allowPrivilegeEscalation != false`);
    if (!(sc.runAsNonRoot ?? psc.runAsNonRoot)) out.push(`${c.name}: runAsNonRoot != true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${c.name}: seccompProfile`);
    if (!sc.capabilities?.drop?.includes('ALL')) out.push(`${c.name}: capabilities not dropping ALL`);
    for (const add of sc.capabilities?.add ?? []) if (add !== 'NET_BIND_SERVICE') out.push(`${c.name}: adds ${add}`);
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${c.name}: hostPort`);
  }
  return out;
}

describe('device access: cpu', () => {
  it('requests and limits one CPU per thread, restricted pod security, rolling update', () => {
    const d = render({ miner: { backend: 'cpu', threads: 4 } });
    expect(minerOf(d).resources).toEqual({ requests: { cpu: '4', memory: '128Mi' }, limits: { cpu: '4', memory: '256Mi' } });
    expect(restrictedViolations(podOf(d))).toEqual([]);
    expect(minerOf(d).securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(podOf(d).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(podOf(d).runtimeClassName).toBeUndefined();
    expect(podOf(d).affinity).toBeUndefined();
    expect(d.deployment.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    expect(backendOf(d)).toEqual({ kind: 'cpu', threads: 4 });
    // read-only root filesystem, but a scratch /tmp
    const tmp = minerOf(d).volumeMounts!.find((m) => m.mountPath === '/tmp')!;
    expect(podOf(d).volumes!.find((v) => v.name === tmp.name)?.emptyDir).toBeDefined();
  });

  it('defaults to one thread, and derives threads from a user CPU limit', () => {
    expect(backendOf(render({}))).toEqual({ kind: 'cpu', threads: 1 });
    expect(minerOf(render({})).resources).toEqual({ requests: { cpu: '1', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } });
    const d = render({ miner: { resources: { limits: { cpu: '2500m' } } } });
    expect(backendOf(d).threads).toBe(2);
    // only a limit given: the default request is left out so the API server sets request = limit
    expect(minerOf(d).resources).toEqual({ requests: { memory: '128Mi' }, limits: { cpu: '2500m', memory: '256Mi' } });
    expect(backendOf(render({ miner: { resources: { limits: { cpu: '500m' } } } })).threads).toBe(1);
    // Capped at spec.miner.threads' maximum: the miner refuses more than 1024 threads (found by
    // test/desired/render-property.test.ts with requests.cpu 1025).
    expect(backendOf(render({ miner: { resources: { requests: { cpu: 1025 } } } })).threads).toBe(256);
  });

  it('lets spec.miner.resources override the defaults and never emits request > limit', () => {
    const d = render({ miner: { threads: 2, resources: { requests: { memory: '1Gi', 'ephemeral-storage': '1Gi' }, limits: { memory: 2147483648 } } } });
    expect(minerOf(d).resources).toEqual({
      requests: { cpu: '2', 'ephemeral-storage': '1Gi', memory: '1Gi' },
      limits: { cpu: '2', memory: '2147483648' },
    });
    // a request above the default limit drops that default limit instead of producing an invalid pod
    const big = render({ miner: { threads: 1, resources: { requests: { memory: '1Gi' } } } });
    expect(minerOf(big).resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1' } });
  });
});

describe('device access: gpu', () => {
  const gpuSpec = {
    device: { kind: 'gpu' as const, resourceName: 'nvidia.com/gpu', perPod: 2, runtimeClassName: 'nvidia' },
    miner: { backend: 'gpu' as const },
  };

  it('limits (and requests) the extended resource perPod, sets the RuntimeClass, stays restricted', () => {
    const d = render(gpuSpec);
    const r = minerOf(d).resources!;
    expect(r.limits!['nvidia.com/gpu']).toBe('2');
    expect(r.requests!['nvidia.com/gpu']).toBe('2');
    expect(podOf(d).runtimeClassName).toBe('nvidia');
    expect(restrictedViolations(podOf(d))).toEqual([]);
    expect(podOf(d).volumes!.some((v) => v.hostPath)).toBe(false);
    // scarce devices: never surge a pod that would wait for a GPU an old pod holds
    expect(d.deployment.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    expect(backendOf(d)).toEqual({ kind: 'gpu' });
  });

  it('omits runtimeClassName when not configured and keeps the device count out of user overrides', () => {
    // The API refuses extended resources in spec.miner.resources (validators.ts resourceList); an
    // object stored before that rule still gets the device count from spec.device.
    const f = fleet({ device: { kind: 'gpu', resourceName: 'amd.com/gpu' }, miner: { backend: 'gpu' } });
    f.spec.miner.resources = { limits: { 'amd.com/gpu': '8' } };
    const d = desiredFleetObjects(inputs(f, [pool('primary')]));
    expect(podOf(d).runtimeClassName).toBeUndefined();
    expect(minerOf(d).resources!.limits!['amd.com/gpu']).toBe('1');
    expect(minerOf(d).resources!.requests!['amd.com/gpu']).toBe('1');
  });
});

describe('device access: usb', () => {
  const devices = ['/dev/ttyACM0', '/dev/ttyACM1'];

  it('with a device-plugin resourceName: requests it and stays unprivileged and restricted', () => {
    const d = render({ device: { kind: 'usb', resourceName: 'example.com/usb-asic', perPod: 2, hostDevices: devices }, miner: { backend: 'usb' } });
    expect(minerOf(d).resources!.limits!['example.com/usb-asic']).toBe('2');
    expect(minerOf(d).resources!.requests!['example.com/usb-asic']).toBe('2');
    expect(restrictedViolations(podOf(d))).toEqual([]);
    expect(podOf(d).volumes!.some((v) => v.hostPath)).toBe(false);
    expect(podOf(d).affinity).toBeUndefined();
    expect(backendOf(d)).toEqual({ kind: 'usb', devices });
  });

  it('without resourceName: hostPath CharDevice mounts, privileged only for the device cgroup, one pod per node, Recreate', () => {
    const d = render({
      device: { kind: 'usb', hostDevices: devices },
      miner: { backend: 'usb' },
      placement: { nodeSelector: { 'minefleet.io/usb-asic': 'true' } },
    });
    const pod = podOf(d);
    const c = minerOf(d);
    const hostVolumes = pod.volumes!.filter((v) => v.hostPath);
    expect(hostVolumes.map((v) => v.hostPath)).toEqual(devices.map((path) => ({ path, type: 'CharDevice' })));
    for (const [i, v] of hostVolumes.entries()) expect(c.volumeMounts!.find((m) => m.name === v.name)?.mountPath).toBe(devices[i]);
    expect(backendOf(d)).toEqual({ kind: 'usb', devices });

    // the only relaxation is privileged (the device cgroup); everything else stays minimal
    expect(restrictedViolations(pod).sort()).toEqual(
      ['miner: allowPrivilegeEscalation != false', 'miner: privileged', ...hostVolumes.map((v) => `volume ${v.name} of type hostPath`)].sort(),
    );
    expect(c.securityContext).toMatchObject({
      privileged: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // the API server rejects privileged together with allowPrivilegeEscalation=false
    expect(c.securityContext!.allowPrivilegeEscalation).toBeUndefined();
    expect(c.securityContext!.capabilities!.add).toBeUndefined();
    expect(pod.securityContext!.supplementalGroups).toEqual([20]);
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.hostPID).toBeUndefined();
    expect(pod.hostIPC).toBeUndefined();

    expect(pod.nodeSelector).toEqual({ 'minefleet.io/usb-asic': 'true' });
    expect(pod.affinity).toEqual({
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: fleetLabels(fleet()) }, topologyKey: 'kubernetes.io/hostname' }],
      },
    });
    expect(d.deployment.spec!.strategy).toEqual({ type: 'Recreate' });
  });

  it('merges the anti-affinity into the user affinity without changing the input', () => {
    const userAffinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'rack', operator: 'In' as const, values: ['a'] }] }],
        },
      },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'other' } }, topologyKey: 'kubernetes.io/hostname' }],
      },
    };
    const snapshot = JSON.stringify(userAffinity);
    const f = fleet({ device: { kind: 'usb', hostDevices: devices }, miner: { backend: 'usb' }, placement: { affinity: userAffinity } });
    const d = desiredFleetObjects(inputs(f, [pool('primary')]));
    const aff = podOf(d).affinity!;
    expect(aff.nodeAffinity).toEqual(userAffinity.nodeAffinity);
    expect(aff.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      userAffinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0],
      { labelSelector: { matchLabels: fleetLabels(f) }, topologyKey: 'kubernetes.io/hostname' },
    ]);
    expect(JSON.stringify(userAffinity)).toBe(snapshot);
    expect(JSON.stringify(f.spec.placement!.affinity)).toBe(snapshot);
    // and the same fleet renders the same affinity twice (no accumulation across reconciles)
    expect(podOf(desiredFleetObjects(inputs(f, [pool('primary')]))).affinity).toEqual(aff);
  });

  it('passes a cpu fleet user affinity through as given', () => {
    const affinity = {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'cpu', operator: 'Exists' as const }] } }],
      },
    };
    expect(podOf(render({ placement: { affinity } })).affinity).toEqual(affinity);
  });
});
