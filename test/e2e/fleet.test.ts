import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GiveUp, PROJECT_IMAGE, startLitecoind, startPrometheus, waitFor, type Litecoind, type Prometheus } from '../support/index.js';
import { startStratumPool, type StratumPool } from '../support/stratum/index.js';
import { e2eCluster, installOperator, ok } from './cluster.js';

// The whole loop on the real node: the chart from helm/, the image built by `npm run image`,
// a litecoind-fed Stratum pool on the node's bridge address, Running and Ready miner pods that
// find blocks litecoind accepts.
const NS = 'e2e-mining';
const OPERATOR_NS = 'e2e-minefleet';
const FLEET = 'cpu';
const POOL = 'regtest';
const POOL2 = 'regtest-b';
const RUNTIME_CM = `${FLEET}-runtime`;
const PSA_ENFORCE = 'pod-security.kubernetes.io/enforce';

interface Fleet {
  status?: {
    replicas?: number;
    readyReplicas?: number;
    activePool?: string;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}

describe('minefleet on a real node', () => {
  const c = e2eCluster();
  let ltc: Litecoind;
  let pool: StratumPool;
  let pool2: StratumPool | undefined;
  let prom: Prometheus | undefined;
  let operator: Awaited<ReturnType<typeof installOperator>> | undefined;
  const figures: Record<string, number> = {};
  const t0 = Date.now();

  const fleet = async (): Promise<Fleet> => JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'mf', FLEET, '-o', 'json']))) as Fleet;
  const minerPods = async (): Promise<
    Array<{ metadata: { name: string; uid: string }; status: { phase: string; podIP?: string; conditions?: Array<{ type: string; status: string }> } }>
  > => (JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`, '-o', 'json']))) as { items: never[] }).items;
  const readyPods = async (): Promise<string[]> =>
    (await minerPods())
      .filter((p) => p.status.phase === 'Running' && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
      .map((p) => p.metadata.name);

  /**
   * A usb fleet's pods go before its device node: containerd creates a missing bind-mount source
   * as a directory, so a crash-looping container restarted after the node is gone leaves a
   * directory at the device path. (The Deployment is collected in the background: wait until no
   * pod is left.) Then the namespace enforces `restricted` again.
   */
  const removeUsbFleet = async (name: string, dev: string): Promise<void> => {
    await c.kubectl(['-n', NS, 'delete', 'mf', name, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    await waitFor(
      async () => {
        const left = await c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${name}`, '-o', 'name']);
        return left.stdout.trim() === '';
      },
      { timeoutMs: 60_000, intervalMs: 500, description: `the ${name} fleet pods gone` },
    );
    rmSync(dev, { force: true, recursive: true });
    await ok(c.kubectl(['label', 'namespace', NS, `${PSA_ENFORCE}=restricted`, '--overwrite']));
  };

  beforeAll(async () => {
    ltc = await startLitecoind();
    pool = await startStratumPool({ litecoind: ltc, difficulty: 0.001, host: c.nodeIp });
    operator = await installOperator(c, { namespace: OPERATOR_NS });
    figures.operatorReadyMs = Date.now() - t0;
    await ok(c.kubectl(['create', 'namespace', NS]));
    // Every fleet here runs under Pod Security admission enforcing `restricted` (the usb test
    // relaxes it for its own fleet and restores it).
    await ok(c.kubectl(['label', 'namespace', NS, `${PSA_ENFORCE}=restricted`]));
    const docs = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'regtest-login' }, type: 'Opaque', stringData: { username: 'e2e-wallet', password: 'x' } },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MiningPool',
        metadata: { name: POOL },
        spec: { url: pool.url, coins: ['LTC'], credentialsSecretRef: { name: 'regtest-login' } },
      },
      {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: FLEET },
        spec: {
          replicas: 2,
          device: { kind: 'cpu' },
          // The node has 2 CPUs for everything: small requests so that both miners fit.
          miner: { backend: 'cpu', threads: 1, resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } } },
          pools: [{ name: POOL, priority: 0 }],
        },
      },
    ];
    await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: docs.map((d) => stringify(d)).join('---\n') }));
  });

  afterAll(async () => {
    process.stderr.write(`[e2e fleet] ${JSON.stringify(figures)}\n`);
    await c.kubectl(['delete', 'namespace', NS, '--wait=false']);
    // Waits: the next e2e file may install another operator, which must not meet this one.
    await operator?.uninstall();
    await Promise.all([pool?.stop(), pool2?.stop(), ltc?.stop(), prom?.stop()]);
  });

  it('the fleet gets Running and Ready miner pods and its status follows', async () => {
    await waitFor(async () => ((await readyPods()).length === 2 ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 500,
      description: '2 Ready miner pods',
    });
    figures.minersReadyMs = Date.now() - t0;
    await waitFor(async () => ((await fleet()).status?.readyReplicas === 2 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'fleet status readyReplicas 2',
    });
    expect((await fleet()).status?.activePool).toBe(POOL);
  });

  it('the miners in their pods find blocks that litecoind accepts', async () => {
    await waitFor(() => (pool.blocks.some((b) => b.accepted) ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 500,
      description: 'a block accepted by litecoind',
    });
    figures.firstBlockMs = Date.now() - t0;
    const workers = new Set(pool.logins.map((l) => l.worker));
    expect(workers.size).toBeGreaterThanOrEqual(2);
    const best = await ltc.rpc<string>('getbestblockhash');
    const accepted = pool.blocks.filter((b) => b.accepted).map((b) => b.hash);
    expect(accepted.length).toBeGreaterThan(0);
    expect((await ltc.rpc<{ confirmations: number }>('getblock', [accepted[0]])).confirmations).toBeGreaterThan(0);
    expect(best).toMatch(/^[0-9a-f]{64}$/);
  });

  it('Prometheus on the host scrapes the miner pods by IP', async () => {
    const ips = (await minerPods()).map((p) => p.status.podIP).filter((ip): ip is string => Boolean(ip));
    expect(ips).toHaveLength(2);
    prom = await startPrometheus({
      scrapeConfigs: [{ job_name: 'miners', scrape_interval: '1s', static_configs: [{ targets: ips.map((ip) => `${ip}:9100`) }] }],
    });
    const up = await waitFor(
      async () => {
        const r = await prom!.query('up{job="miners"} == 1');
        return r.length === 2 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'both miner pods up in Prometheus' },
    );
    expect(up.map((s) => s.metric.instance).sort()).toEqual(ips.map((ip) => `${ip}:9100`).sort());
    const hashes = await waitFor(
      async () => {
        const r = await prom!.query('sum(minefleet_miner_hashes_total)');
        return r.length === 1 && Number(r[0]!.value[1]) > 0 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'minefleet_miner_hashes_total from the pods' },
    );
    expect(Number(hashes[0]!.value[1])).toBeGreaterThan(0);
  });

  it('kubectl logs and exec work on a miner pod; it runs as UID 65532 on a read-only root filesystem', async () => {
    const [name] = await readyPods();
    const logs = await ok(c.kubectl(['-n', NS, 'logs', name!]));
    expect(logs.length).toBeGreaterThan(0);
    const id = await ok(c.kubectl(['-n', NS, 'exec', name!, '--', 'node', '-e', 'process.stdout.write(String(process.getuid()))']));
    expect(id).toBe('65532');
    const write = await c.kubectl(['-n', NS, 'exec', name!, '--', 'node', '-e', 'require("fs").writeFileSync("/app/x", "")']);
    expect(write.code).not.toBe(0);
    expect(write.stderr + write.stdout).toMatch(/EROFS/);
  });

  it('a pod killed by hand is replaced and the fleet status follows', async () => {
    const before = await minerPods();
    const victim = before[0]!.metadata;
    await ok(c.kubectl(['-n', NS, 'delete', 'pod', victim.name, '--grace-period=0', '--force']));
    await waitFor(
      async () => {
        const pods = await readyPods();
        const uids = (await minerPods()).map((p) => p.metadata.uid);
        return pods.length === 2 && !uids.includes(victim.uid) ? true : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, description: 'a replacement Ready pod' },
    );
    await waitFor(async () => ((await fleet()).status?.readyReplicas === 2 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'fleet readyReplicas back to 2',
    });
  });

  it('kubectl scale on the fleet changes the pods, and the status follows', async () => {
    await ok(c.kubectl(['-n', NS, 'scale', 'mf', FLEET, '--replicas=1']));
    await waitFor(async () => ((await minerPods()).length === 1 && (await fleet()).status?.readyReplicas === 1 ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 500,
      description: 'one miner pod and readyReplicas 1 after kubectl scale',
    });
  });
  it('a spec change rolls the Deployment out: new pods with the new resources replace the old ones', async () => {
    const oldUids = (await minerPods()).map((p) => p.metadata.uid);
    await ok(
      c.kubectl([
        '-n',
        NS,
        'patch',
        'mf',
        FLEET,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { miner: { resources: { limits: { cpu: '500m', memory: '300Mi' } } } } }),
      ]),
    );
    await waitFor(
      async () => {
        const pods = JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`, '-o', 'json']))) as {
          items: Array<{ metadata: { uid: string }; spec: { containers: Array<{ resources?: { limits?: Record<string, string> } }> } }>;
        };
        const fresh = pods.items.filter((p) => !oldUids.includes(p.metadata.uid));
        const ready = await readyPods();
        return pods.items.length === 1 && fresh.length === 1 && ready.length === 1 && fresh[0]!.spec.containers[0]!.resources?.limits?.memory === '300Mi'
          ? true
          : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, description: 'the rollout to replace the pod with one that has limits.memory 300Mi' },
    );
  });

  it('a usb fleet runs with a CharDevice hostPath made for the test (mknod)', async () => {
    const dev = '/dev/minefleet-e2e-tty0';
    // recursive: a kubelet that met the path missing may have left a directory there.
    rmSync(dev, { force: true, recursive: true });
    execFileSync('mknod', ['-m', '0666', dev, 'c', '1', '3']); // same numbers as /dev/null: harmless to open
    try {
      const usb = {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name: 'usb' },
        spec: {
          replicas: 1,
          device: { kind: 'usb', hostDevices: [dev] },
          miner: { backend: 'usb', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
          pools: [{ name: POOL, priority: 0 }],
        },
      };
      const applied = Date.now();
      await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: JSON.stringify(usb) }));
      // Under `restricted` the hostPath device volume is refused at admission, and the fleet says
      // why and what admits it.
      const refused = await waitFor(
        async () => {
          const f = JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'mf', 'usb', '-o', 'json']))) as Fleet;
          return f.status?.conditions?.find((x) => x.type === 'Degraded' && x.reason === 'PodSecurityViolation');
        },
        { timeoutMs: 120_000, intervalMs: 500, description: 'the usb fleet Degraded with reason PodSecurityViolation' },
      );
      figures.podSecurityRefusedMs = Date.now() - applied;
      expect(refused.message).toContain('hostPath');
      expect(refused.message).toContain(`${PSA_ENFORCE}=privileged`);
      await ok(c.kubectl(['label', 'namespace', NS, `${PSA_ENFORCE}=privileged`, '--overwrite']));
      // The kubelet checks the hostPath type (CharDevice) before it creates the container, and
      // runc mounts the device node: the container starting at all proves both. The usb backend
      // itself is not in this build yet (miner/src/miner.ts refuses it with a clear error), so the
      // container's own log is that error.
      type P = {
        items: Array<{
          metadata: { name: string };
          spec: { volumes?: Array<{ hostPath?: { path: string; type?: string } }> };
          status: { containerStatuses?: Array<{ state?: Record<string, unknown>; lastState?: Record<string, unknown> }> };
        }>;
      };
      const pod = await waitFor(
        async () => {
          const items = (JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', 'minefleet.io/fleet=usb', '-o', 'json']))) as P).items;
          const started = items.find((p) => p.status.containerStatuses?.some((cs) => cs.state?.running || cs.state?.terminated || cs.lastState?.terminated));
          return started;
        },
        { timeoutMs: 180_000, intervalMs: 500, description: 'the usb fleet container to start' },
      );
      expect(pod.spec.volumes?.map((v) => v.hostPath).filter(Boolean)).toEqual([{ path: dev, type: 'CharDevice' }]);
      const logs = await waitFor(
        async () => {
          const r = await c.kubectl(['-n', NS, 'logs', pod.metadata.name]);
          const prev = await c.kubectl(['-n', NS, 'logs', pod.metadata.name, '--previous']);
          const text = r.stdout + prev.stdout;
          return text.includes('backend') ? text : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, description: 'the usb miner container log' },
      );
      expect(logs).toContain("'usb' backend not available");
      await ok(c.kubectl(['-n', NS, 'delete', 'mf', 'usb', '--wait=true', '--timeout=120s']));
    } finally {
      await removeUsbFleet('usb', dev);
    }
  });

  it('a usb fleet with an external miner: the supervisor sidecar hands it the pool over the cgminer API, it mines, and the fleet reports it', async () => {
    // The external miner is our ASIC emulator run from the project image in the role of
    // bfgminer/cgminer: it starts with no pool, so every share it submits proves the sidecar
    // pushed the fleet's pool and login to it over 127.0.0.1:4028.
    const dev = '/dev/minefleet-e2e-tty1';
    const name = 'usb-ext';
    rmSync(dev, { force: true, recursive: true });
    execFileSync('mknod', ['-m', '0666', dev, 'c', '1', '3']);
    await ok(c.kubectl(['label', 'namespace', NS, `${PSA_ENFORCE}=privileged`, '--overwrite']));
    try {
      const image = PROJECT_IMAGE;
      const usb = {
        apiVersion: 'minefleet.io/v1alpha1',
        kind: 'MinerFleet',
        metadata: { name },
        spec: {
          replicas: 1,
          device: { kind: 'usb', hostDevices: [dev] },
          miner: {
            backend: 'usb',
            imagePullPolicy: 'Never',
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
            external: {
              image,
              command: ['node', 'dist/miner/src/main.js', 'emulate-asic'],
              args: ['--model', 'antminer-l3plus', '--host', '127.0.0.1', '--port', '4028', '--hashrate', '1500', '--quirks', 'none'],
              apiPort: 4028,
              model: 'antminer-l3plus',
            },
          },
          pools: [{ name: POOL, priority: 0 }],
        },
      };
      const applied = Date.now();
      await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: JSON.stringify(usb) }));
      type P = {
        items: Array<{
          metadata: { name: string };
          spec: { containers: Array<{ name: string; image: string; volumeMounts?: Array<{ mountPath: string }> }> };
          status: { phase: string; containerStatuses?: Array<{ name: string; ready: boolean }> };
        }>;
      };
      const pod = await waitFor(
        async () => {
          const items = (JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${name}`, '-o', 'json']))) as P).items;
          return items.find(
            (p) => p.status.phase === 'Running' && p.status.containerStatuses?.length === 2 && p.status.containerStatuses.every((cs) => cs.ready),
          );
        },
        { timeoutMs: 180_000, intervalMs: 500, description: 'the usb-ext pod Running with both containers Ready' },
      );
      figures.usbSidecarReadyMs = Date.now() - applied;
      expect(pod.spec.containers.map((x) => x.name).sort()).toEqual(['miner', 'supervisor']);
      // The device node is in the external miner's container only.
      const isDev = `process.stdout.write(String(require("fs").statSync(${JSON.stringify(dev)}).isCharacterDevice()))`;
      expect(await ok(c.kubectl(['-n', NS, 'exec', pod.metadata.name, '-c', 'miner', '--', 'node', '-e', isDev]))).toBe('true');
      const inSidecar = await c.kubectl(['-n', NS, 'exec', pod.metadata.name, '-c', 'supervisor', '--', 'node', '-e', isDev]);
      expect(inSidecar.code).not.toBe(0);
      expect(inSidecar.stderr).toContain('ENOENT');

      // The pool sees the emulator's login (worker <user>.<fleet>.<pod>.usb) and its shares.
      const worker = `e2e-wallet.${name}.${pod.metadata.name}.usb`;
      await waitFor(() => (pool.shares.some((sh) => sh.worker === worker && sh.result === 'accepted') ? true : undefined), {
        timeoutMs: 120_000,
        intervalMs: 500,
        description: `an accepted share from ${worker}`,
      });
      figures.usbSidecarFirstShareMs = Date.now() - applied;
      expect(pool.logins.find((l) => l.worker === worker)?.password).toBe('x');

      // The sidecar exports the device's counters with the device label.
      const metrics = await waitFor(
        async () => {
          const r = await c.kubectl([
            '-n',
            NS,
            'exec',
            pod.metadata.name,
            '-c',
            'supervisor',
            '--',
            'node',
            '-e',
            'fetch("http://127.0.0.1:9100/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))',
          ]);
          return /minefleet_miner_shares_total\{[^}]*device="usb"[^}]*result="accepted"[^}]*\} [1-9]/.test(r.stdout) ? r.stdout : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 1000, description: 'the sidecar metrics with accepted shares of device usb' },
      );
      expect(metrics).toMatch(/minefleet_miner_device_up\{device="usb",model="antminer-l3plus"\} 1/);
      expect(metrics).toMatch(/minefleet_miner_hashes_total\{device="usb"\} [1-9]/);

      // The operator's collector scrapes the sidecar: the fleet's status has hashrate and shares.
      type F = { status?: { hashrate?: number; shares?: { accepted?: number }; devices?: number } };
      const f = await waitFor(
        async () => {
          const x = JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'mf', name, '-o', 'json']))) as F;
          return (x.status?.shares?.accepted ?? 0) > 0 && (x.status?.hashrate ?? 0) > 0 ? x : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000, description: 'usb-ext status.hashrate and status.shares from the collector' },
      );
      figures.usbSidecarStatusMs = Date.now() - applied;
      expect(f.status!.devices).toBe(1);
      await ok(c.kubectl(['-n', NS, 'delete', 'mf', name, '--wait=true', '--timeout=120s']));
    } finally {
      await removeUsbFleet(name, dev);
    }
  });

  it('a gpu fleet stays Pending until the node advertises the extended resource, then schedules', async () => {
    const gpu = {
      apiVersion: 'minefleet.io/v1alpha1',
      kind: 'MinerFleet',
      metadata: { name: 'gpu' },
      spec: {
        replicas: 1,
        device: { kind: 'gpu', resourceName: 'example.com/gpu', perPod: 1 },
        miner: { backend: 'gpu', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
        pools: [{ name: POOL, priority: 0 }],
      },
    };
    await ok(c.kubectl(['-n', NS, 'apply', '-f', '-'], { input: JSON.stringify(gpu) }));
    type P = { items: Array<{ spec: { nodeName?: string }; status: { conditions?: Array<{ type: string; status: string; message?: string }> } }> };
    const gpuPods = async (): Promise<P['items']> =>
      (JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', 'minefleet.io/fleet=gpu', '-o', 'json']))) as P).items;
    const unschedulable = await waitFor(
      async () => {
        const cond = (await gpuPods())[0]?.status.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
        return cond?.message;
      },
      { timeoutMs: 120_000, intervalMs: 500, description: 'the gpu pod to be reported unschedulable' },
    );
    expect(unschedulable).toMatch(/Insufficient example.com\/gpu/);
    await ok(
      c.kubectl([
        'patch',
        'node',
        c.nodeName,
        '--subresource=status',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'add', path: '/status/capacity/example.com~1gpu', value: '1' }]),
      ]),
    );
    await waitFor(async () => ((await gpuPods())[0]?.spec.nodeName === c.nodeName ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
      description: 'the gpu pod bound to the node',
    });
    await ok(c.kubectl(['-n', NS, 'delete', 'mf', 'gpu', '--wait=true', '--timeout=120s']));
    await ok(
      c.kubectl([
        'patch',
        'node',
        c.nodeName,
        '--subresource=status',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'remove', path: '/status/capacity/example.com~1gpu' }]),
      ]),
    );
  });

  type PodState = {
    metadata: { name: string; uid: string; deletionTimestamp?: string };
    spec: { serviceAccountName?: string };
    status: {
      phase: string;
      conditions?: Array<{ type: string; status: string }>;
      containerStatuses?: Array<{
        restartCount: number;
        state?: { terminated?: { reason?: string; exitCode?: number } };
        lastState?: { terminated?: { reason?: string; exitCode?: number } };
      }>;
    };
  };
  const podStates = async (): Promise<PodState[]> =>
    (JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'pods', '-l', `minefleet.io/fleet=${FLEET}`, '-o', 'json']))) as { items: PodState[] }).items;
  type FleetFull = Fleet & { metadata: { generation: number }; status?: { observedGeneration?: number } };
  const condition = (f: Fleet, type: string): { type: string; status: string; reason?: string } | undefined =>
    f.status?.conditions?.find((x) => x.type === type);
  /** The fleet's Deployment rolled out and exactly `n` Ready pods, none terminating; the fleet says so. */
  const settled = async (n: number): Promise<true | undefined> => {
    const pods = await podStates();
    const ready = pods.filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    const f = JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'mf', FLEET, '-o', 'json']))) as FleetFull;
    const steady =
      pods.length === n &&
      ready.length === n &&
      f.status?.observedGeneration === f.metadata.generation &&
      f.status.readyReplicas === n &&
      f.status.replicas === n &&
      condition(f, 'Progressing')?.status === 'False' &&
      condition(f, 'Ready')?.status === 'True';
    return steady ? true : undefined;
  };
  const runtimeState = async (): Promise<{ activePool: string; revision: number }> =>
    JSON.parse(JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'cm', RUNTIME_CM, '-o', 'json']))).data['runtime.json'] as string) as {
      activePool: string;
      revision: number;
    };

  it('miners follow the runtime ConfigMap through the API with their own ServiceAccount: the whole fleet fails over live, no pod restarted', async () => {
    const probe = { intervalSeconds: 5, timeoutSeconds: 3, failureThreshold: 1 };
    pool2 = await startStratumPool({ litecoind: ltc, difficulty: 0.001, host: c.nodeIp });
    await ok(
      c.kubectl(['-n', NS, 'apply', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'minefleet.io/v1alpha1',
          kind: 'MiningPool',
          metadata: { name: POOL2 },
          spec: { url: pool2.url, coins: ['LTC'], credentialsSecretRef: { name: 'regtest-login' }, probe },
        }),
      }),
    );
    // The first pool's probe is short too, so its death is noticed within seconds (its default
    // is 3 failures 30 s apart). The probe is not part of the miners' config: no rollout.
    await ok(c.kubectl(['-n', NS, 'patch', 'mp', POOL, '--type=merge', '-p', JSON.stringify({ spec: { probe } })]));
    await ok(
      c.kubectl([
        '-n',
        NS,
        'patch',
        'mf',
        FLEET,
        '--type=merge',
        '-p',
        JSON.stringify({
          spec: {
            replicas: 2,
            pools: [
              { name: POOL, priority: 0 },
              { name: POOL2, priority: 1 },
            ],
          },
        }),
      ]),
    );
    await waitFor(
      async () => {
        const mp = JSON.parse(await ok(c.kubectl(['-n', NS, 'get', 'mp', POOL2, '-o', 'json']))) as Fleet;
        return condition(mp, 'Available')?.status === 'True' ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, description: `MiningPool ${POOL2} Available=True` },
    );
    // The new pool list is in the miners' config file: that rolls out once; then the pods stay.
    await waitFor(() => settled(2), { timeoutMs: 240_000, intervalMs: 1000, description: 'the fleet rolled out to 2 Ready pods with both pools' });
    expect((await fleet()).status?.activePool).toBe(POOL);
    const before = await podStates();
    const identity = (pods: PodState[]): Array<[string, string, number]> =>
      pods.map((p) => [p.metadata.name, p.metadata.uid, p.status.containerStatuses?.[0]?.restartCount ?? -1] as [string, string, number]).sort();
    const revisionBefore = (await runtimeState()).revision;

    // Their own identity: the fleet's ServiceAccount may read its runtime ConfigMap, nothing else.
    const sa = before[0]!.spec.serviceAccountName!;
    expect(sa).toBeTruthy();
    expect(sa).not.toBe('default');
    expect(new Set(before.map((p) => p.spec.serviceAccountName))).toEqual(new Set([sa]));
    const as = `--as=system:serviceaccount:${NS}:${sa}`;
    expect((await c.kubectl(['-n', NS, 'auth', 'can-i', 'watch', `configmaps/${RUNTIME_CM}`, as])).stdout.trim()).toBe('yes');
    expect((await c.kubectl(['-n', NS, 'auth', 'can-i', 'get', 'secrets/regtest-login', as])).stdout.trim()).toBe('no');

    const stopped = Date.now();
    await pool.stop();
    await waitFor(async () => ((await fleet()).status?.activePool === POOL2 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
      description: `fleet status.activePool ${POOL2}`,
    });
    figures.failoverStatusMs = Date.now() - stopped;
    const workers = before.map((p) => p.metadata.name);
    const acceptedFrom = (name: string) => pool2!.shares.find((s) => s.result === 'accepted' && s.receivedAt >= stopped && s.worker.endsWith(`.${name}`));
    await waitFor(() => (workers.every((w) => acceptedFrom(w)) ? true : undefined), {
      timeoutMs: 180_000,
      intervalMs: 250,
      description: `accepted shares at ${POOL2} from every pod's worker`,
    });
    const firsts = workers.map((w) => acceptedFrom(w)!.receivedAt - stopped);
    figures.failoverFirstShareMs = Math.min(...firsts);
    figures.failoverAllPodsShareMs = Math.max(...firsts);

    // The decision went out in the runtime ConfigMap and every miner read it through the API.
    const published = await runtimeState();
    expect(published.activePool).toBe(POOL2);
    expect(published.revision).toBeGreaterThan(revisionBefore);
    const received = await waitFor(
      async () => {
        const times: number[] = [];
        for (const name of workers) {
          const lines = (await ok(c.kubectl(['-n', NS, 'logs', name]))).split('\n').filter((l) => l.includes('runtime state received'));
          const hit = lines
            .map((l) => JSON.parse(l) as { time: string; activePool?: string; revision?: number })
            .find((l) => l.activePool === POOL2 && l.revision === published.revision);
          if (!hit) return undefined;
          times.push(Date.parse(hit.time) - stopped); // pino isoTime
        }
        return times;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: `every miner to log the runtime state activePool ${POOL2} revision ${published.revision}` },
    );
    expect(received.every((t) => Number.isFinite(t))).toBe(true);
    figures.failoverRuntimeReceivedMs = Math.max(...received);

    // Live: the same pods, not restarted, no rollout.
    expect(identity(await podStates())).toEqual(identity(before));
  });

  it('a miner container killed by OOM is reported OOMKilled, the fleet status follows, and the fleet is Ready again after the fix', async () => {
    const oldUids = (await podStates()).map((p) => p.metadata.uid);
    // Far below what Node needs to start: the kernel's memory cgroup kills it (runc's own start
    // needs a few MiB and fits).
    const tiny = { requests: { cpu: '100m', memory: '16Mi' }, limits: { cpu: '500m', memory: '32Mi' } };
    await ok(c.kubectl(['-n', NS, 'patch', 'mf', FLEET, '--type=merge', '-p', JSON.stringify({ spec: { miner: { resources: tiny } } })]));
    const oomStarted = Date.now();
    const victim = await waitFor(
      async () => {
        for (const p of await podStates()) {
          if (oldUids.includes(p.metadata.uid)) continue;
          const cs = p.status.containerStatuses?.[0];
          const ended = cs?.lastState?.terminated ?? cs?.state?.terminated;
          if (!ended) continue;
          if (ended.reason !== 'OOMKilled') throw new GiveUp(`the new pod's container ended with ${JSON.stringify(ended)}, not OOMKilled`);
          return { name: p.metadata.name, uid: p.metadata.uid, ended, restartCount: cs!.restartCount };
        }
        return undefined;
      },
      { timeoutMs: 180_000, intervalMs: 500, description: 'a new miner pod whose container the kernel OOM-killed' },
    );
    figures.oomKilledMs = Date.now() - oomStarted;
    expect(victim.ended.exitCode).toBe(137);
    // The rolling update keeps the old pods until a new one is Ready: the fleet keeps mining and
    // says it is stuck rolling out, with the surge pod counted in its replicas.
    const during = await waitFor(
      async () => {
        const f = await fleet();
        return condition(f, 'Progressing')?.reason === 'RollingOut' && f.status?.replicas === 3 ? f : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'fleet Progressing RollingOut with the OOM-killed surge pod' },
    );
    process.stderr.write(`[e2e fleet] status while the new pod is OOM-killed: ${JSON.stringify(during.status)}\n`);
    expect(during.status?.readyReplicas).toBe(2);
    expect(condition(during, 'Ready')?.status).toBe('True');
    expect((await podStates()).filter((p) => oldUids.includes(p.metadata.uid))).toHaveLength(2);

    const fixed = { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '300Mi' } };
    await ok(c.kubectl(['-n', NS, 'patch', 'mf', FLEET, '--type=merge', '-p', JSON.stringify({ spec: { miner: { resources: fixed } } })]));
    await waitFor(() => settled(2), { timeoutMs: 240_000, intervalMs: 1000, description: 'the fleet back to 2 Ready pods after the memory limit is fixed' });
    expect((await podStates()).map((p) => p.metadata.uid)).not.toContain(victim.uid);
  });
});
