import { describe, expect, it } from 'vitest';
import { MiningPoolSpecSchema } from '../../operator/src/api/v1alpha1/index.js';
import { apiServerEndpointsOf, apiServerEndpointsOfEndpoints } from '../../operator/src/controllers/minerfleet/apiserver.js';
import { desiredFleetObjects, fleetLabels, type NetworkPolicySettings } from '../../operator/src/controllers/minerfleet/desired/index.js';
import { fleet, inputs, NS, pool } from './fixtures.js';

type Any = any;

const settings: NetworkPolicySettings = {
  apiServer: [
    { ip: '10.250.0.1', port: 6443 },
    { ip: '10.250.0.2', port: 6443 },
  ],
  operatorPods: { namespace: 'minefleet-system', labels: { 'app.kubernetes.io/name': 'minefleet', 'app.kubernetes.io/component': 'operator' } },
  prometheus: { namespaceSelector: { team: 'monitoring' }, podSelector: { 'app.kubernetes.io/name': 'prometheus' } },
};
const policy = (f = fleet(), pools = [pool('primary')], s: NetworkPolicySettings | undefined = settings): Any =>
  desiredFleetObjects(inputs(f, pools, pools[0]!.metadata.name, { operator: { minerImage: 'img:1', networkPolicy: s } })).networkPolicy;
const twoPoolFleet = () =>
  fleet({
    pools: [
      { name: 'primary', priority: 0 },
      { name: 'backup', priority: 1 },
    ],
  });

describe('minerNetworkPolicy', () => {
  it('selects the fleet pods, is owned by the fleet and denies both directions by default', () => {
    const np = policy();
    expect(np.metadata.name).toBe('rig-miner');
    expect(np.metadata.namespace).toBe(NS);
    expect(np.metadata.ownerReferences[0]).toMatchObject({ kind: 'MinerFleet', name: 'rig', controller: true });
    expect(np.spec.podSelector).toEqual({ matchLabels: fleetLabels(fleet()) });
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('admits only the metrics port, only from the operator pods (their namespace) and the Prometheus selector', () => {
    const np = policy();
    expect(np.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'minefleet-system' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/component': 'operator', 'app.kubernetes.io/name': 'minefleet' } },
          },
          { namespaceSelector: { matchLabels: { team: 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
        ],
        ports: [{ protocol: 'TCP', port: 9100 }],
      },
    ]);
    // a non-default metrics port moves the rule with it
    const other = desiredFleetObjects(
      inputs(fleet(), [pool('primary')], 'primary', { operator: { minerImage: 'i', metricsPort: 9555, networkPolicy: settings } }),
    );
    expect((other.networkPolicy!.spec!.ingress![0] as Any).ports).toEqual([{ protocol: 'TCP', port: 9555 }]);
    // no namespace known: an empty namespaceSelector (any namespace), never "same namespace as the fleet"
    const anyNs = policy(fleet(), [pool('primary')], { ...settings, operatorPods: { labels: { a: 'b' } }, prometheus: { podSelector: { p: 'q' } } });
    expect(anyNs.spec.ingress[0].from).toEqual([
      { namespaceSelector: {}, podSelector: { matchLabels: { a: 'b' } } },
      { namespaceSelector: {}, podSelector: { matchLabels: { p: 'q' } } },
    ]);
  });

  it('lets out DNS, the API server endpoints and the pools ports only', () => {
    const np = policy(twoPoolFleet(), [pool('primary'), pool('backup', { url: 'stratum+ssl://backup.pool.example:4444' })]);
    expect(np.spec.egress).toEqual([
      {
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      { to: [{ ipBlock: { cidr: '10.250.0.1/32' } }, { ipBlock: { cidr: '10.250.0.2/32' } }], ports: [{ protocol: 'TCP', port: 6443 }] },
      // DNS-named pools without egressCIDRs: the port at any address (a policy cannot name a host)
      { ports: [{ protocol: 'TCP', port: 3333 }] },
      { ports: [{ protocol: 'TCP', port: 4444 }] },
    ]);
  });

  it('narrows a pool port to its egressCIDRs and to the URL host when it is an IPv4 literal', () => {
    const np = policy(twoPoolFleet(), [
      pool('primary', { url: 'stratum+tcp://203.0.113.9:3333' }),
      pool('backup', { url: 'stratum+tcp://backup.pool.example:3334', egressCIDRs: ['198.51.100.0/24', '192.0.2.0/28'] }),
    ]);
    expect(np.spec.egress.slice(2)).toEqual([
      { to: [{ ipBlock: { cidr: '203.0.113.9/32' } }], ports: [{ protocol: 'TCP', port: 3333 }] },
      { to: [{ ipBlock: { cidr: '192.0.2.0/28' } }, { ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 3334 }] },
    ]);
    // two pools on one port: a DNS-named one without CIDRs opens the port, it never narrows the other
    const shared = policy(twoPoolFleet(), [pool('primary', { url: 'stratum+tcp://203.0.113.9:3333' }), pool('backup')]);
    expect(shared.spec.egress.slice(2)).toEqual([{ ports: [{ protocol: 'TCP', port: 3333 }] }]);
  });

  it('without known API server endpoints allows its usual ports at any address (miners must watch their ConfigMap)', () => {
    const np = policy(fleet(), [pool('primary')], { ...settings, apiServer: [] });
    expect(np.spec.egress[1]).toEqual({
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    });
  });

  it('is deterministic whatever the order of pools and endpoints', () => {
    const pools = [pool('primary', { egressCIDRs: ['203.0.113.0/24', '192.0.2.0/24'] }), pool('backup', { url: 'stratum+tcp://10.1.2.3:4444' })];
    const a = JSON.stringify(policy(twoPoolFleet(), pools));
    const b = JSON.stringify(policy(twoPoolFleet(), [...pools].reverse(), { ...settings, apiServer: [...settings.apiServer].reverse() }));
    expect(b).toBe(a);
  });

  it('lets a network fleet supervisor reach its ASICs API ports (the address when it is an IP literal)', () => {
    const f = fleet({
      device: {
        kind: 'network',
        network: {
          targets: [
            { name: 'l3-a', host: '10.0.0.5' },
            { name: 'l3-c', host: '10.0.0.6' },
            { name: 'l3-b', host: 'l3-b.rack1.lan', port: 14028 },
          ],
        },
      },
      miner: { backend: 'network' },
    });
    const np = policy(f);
    expect(np.spec.egress.slice(3)).toEqual([
      { to: [{ ipBlock: { cidr: '10.0.0.5/32' } }, { ipBlock: { cidr: '10.0.0.6/32' } }], ports: [{ protocol: 'TCP', port: 4028 }] },
      { ports: [{ protocol: 'TCP', port: 14028 }] },
    ]);
    // other fleets open no device port
    expect(policy().spec.egress).toHaveLength(3);
  });

  it('is absent when the fleet opts out (spec.networkPolicy.enabled: false)', () => {
    const f = fleet({ networkPolicy: { enabled: false } });
    expect(desiredFleetObjects(inputs(f, [pool('primary')])).networkPolicy).toBeUndefined();
    expect(fleet().spec.networkPolicy.enabled).toBe(true);
  });
});

describe('MiningPool spec.egressCIDRs', () => {
  const spec = (egressCIDRs: unknown) =>
    MiningPoolSpecSchema.safeParse({ url: 'stratum+tcp://p.example:3333', coins: ['LTC'], credentialsSecretRef: { name: 's' }, egressCIDRs });
  it('accepts canonical IPv4 CIDRs and refuses host bits, names and repeats with the field named', () => {
    expect(spec(['203.0.113.0/24', '10.0.0.1/32', '0.0.0.0/0']).success).toBe(true);
    for (const [bad, msg] of [
      [['203.0.113.7/24'], 'no host bits set'],
      [['pool.example/32'], 'IPv4 CIDR'],
      [['10.0.0.0/33'], 'IPv4 CIDR'],
      [['10.0.0.0/8', '10.0.0.0/8'], 'Duplicate value'],
      [[], '>=1'],
    ] as const) {
      const r = spec(bad);
      expect(r.success, JSON.stringify(bad)).toBe(false);
      expect(JSON.stringify(r.error!.issues)).toContain(msg);
    }
  });
});

describe('apiServerEndpointsOf', () => {
  it('reads address x TCP port of the kubernetes EndpointSlice, sorted and deduplicated', () => {
    expect(
      apiServerEndpointsOf({
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.9'] }, { addresses: ['10.0.0.2', '10.0.0.9'], conditions: { ready: false } }],
        ports: [
          { name: 'https', port: 6443, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ],
      }),
    ).toEqual([
      { ip: '10.0.0.2', port: 6443 },
      { ip: '10.0.0.9', port: 6443 },
    ]);
    expect(apiServerEndpointsOf({ addressType: 'FQDN', endpoints: [{ addresses: ['api.example'] }], ports: [{ port: 443 }] })).toEqual([]);
  });

  it('reads the core/v1 Endpoints the same way (clusters without EndpointSlice mirroring)', () => {
    expect(
      apiServerEndpointsOfEndpoints({
        subsets: [
          { addresses: [{ ip: '10.0.0.9' }], notReadyAddresses: [{ ip: '10.0.0.2' }], ports: [{ port: 6443, protocol: 'TCP' }] },
          { addresses: [{ ip: '10.0.0.9' }], ports: [{ port: 6443 }] },
        ],
      }),
    ).toEqual([
      { ip: '10.0.0.2', port: 6443 },
      { ip: '10.0.0.9', port: 6443 },
    ]);
  });
});
