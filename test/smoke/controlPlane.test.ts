import { AppsV1Api, AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlPlane, waitFor, type ControlPlane } from '../support/index.js';

describe('control plane (etcd + kube-apiserver + controller-manager + scheduler)', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  beforeAll(async () => {
    cp = await startControlPlane({ controllerManager: true, scheduler: true });
    console.log(`control plane with controller-manager and scheduler started: ${JSON.stringify(cp.timings)}`);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    apps = cp.kubeConfig.makeApiClient(AppsV1Api);
  });

  afterAll(async () => {
    await cp?.stop();
  });

  it('creates a ConfigMap with client-node and reads it back with client-node and kubectl', async () => {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'smoke-client-node' }, data: { greeting: 'hello from client-node' } },
    });
    const read = await core.readNamespacedConfigMap({ name: 'smoke-client-node', namespace: 'default' });
    expect(read.data).toEqual({ greeting: 'hello from client-node' });

    const viaKubectl = await cp.kubectl(['get', 'configmap', 'smoke-client-node', '-o', 'jsonpath={.data.greeting}']);
    expect(viaKubectl.stderr).toBe('');
    expect(viaKubectl).toMatchObject({ code: 0, stdout: 'hello from client-node' });
  });

  it('creates a ConfigMap with kubectl apply and reads it back with client-node', async () => {
    const manifest = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'smoke-kubectl', namespace: 'default' },
      data: { greeting: 'hello from kubectl' },
    });
    const applied = await cp.kubectl(['apply', '--server-side', '-f', '-'], { input: manifest });
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('configmap/smoke-kubectl serverside-applied');

    const read = await core.readNamespacedConfigMap({ name: 'smoke-kubectl', namespace: 'default' });
    expect(read.data?.greeting).toBe('hello from kubectl');
  });

  it('turns a Deployment into Pods owned by its ReplicaSet (real controller-manager; Pending without a node)', async () => {
    const labels = { app: 'smoke-deployment' };
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'smoke-deployment' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'main', image: 'registry.invalid/minefleet/smoke:1' }] },
          },
        },
      },
    });

    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=smoke-deployment' });
        return list.items.length === 2 ? list.items : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: 'the Deployment to have 2 Pods' },
    );
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=smoke-deployment' });
    expect(replicaSets.items).toHaveLength(1);
    const rs = replicaSets.items[0]!;
    expect(rs.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'smoke-deployment', controller: true });
    for (const pod of pods) {
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: rs.metadata?.name, controller: true });
      expect(pod.status?.phase).toBe('Pending');
      expect(pod.spec?.nodeName).toBeUndefined();
      // The ServiceAccount admission plugin and the controller-manager's token machinery work.
      expect(pod.spec?.serviceAccountName).toBe('default');
    }
  });

  it('answers kubectl version and helm with the pinned server version', async () => {
    const kubectl = await cp.kubectl(['version', '-o', 'json']);
    expect(kubectl.code, kubectl.stderr).toBe(0);
    const versions = JSON.parse(kubectl.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    expect(versions.serverVersion.gitVersion).toBe('v1.33.13');
    expect(versions.clientVersion.gitVersion).toMatch(/^v1\.33\./);

    const helmVersion = await cp.helm(['version', '--short']);
    expect(helmVersion.code, helmVersion.stderr).toBe(0);
    expect(helmVersion.stdout).toMatch(/^v4\./);
    // helm talks to the API server: listing releases needs a working kubeconfig.
    const helmList = await cp.helm(['list', '--all-namespaces', '-o', 'json']);
    expect(helmList.code, helmList.stderr).toBe(0);
    expect(JSON.parse(helmList.stdout)).toEqual([]);
  });

  it('issues ServiceAccount tokens that authenticate, with RBAC enforced', async () => {
    const token = await cp.kubectl(['create', 'token', 'default', '--namespace', 'default']);
    expect(token.code, token.stderr).toBe(0);
    const cluster = cp.kubeConfig.getCurrentCluster()!;
    const asServiceAccount = new KubeConfig();
    asServiceAccount.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'sa', token: token.stdout.trim() }],
      contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
      currentContext: 'sa',
    });
    const review = await asServiceAccount.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe('system:serviceaccount:default:default');
    // RBAC: the default ServiceAccount may not read Secrets.
    const denied = await asServiceAccount
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace: 'default' })
      .then(
        () => undefined,
        (err: unknown) => err as { code?: number },
      );
    expect(denied?.code).toBe(403);
  });

  it('restarts kube-apiserver on the same address with the same data', async () => {
    await cp.restartApiServer();
    const read = await core.readNamespacedConfigMap({ name: 'smoke-client-node', namespace: 'default' });
    expect(read.data?.greeting).toBe('hello from client-node');
  });
});
