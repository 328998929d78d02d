/**
 * The bad-input table: each case is a valid object with one thing broken, the field path the
 * error must name, and a fragment of the expected message. The same table runs against zod
 * in-process (test/api/zod-validation.test.ts) and against a real kube-apiserver
 * (test/api/apiserver.test.ts).
 */
import { validFleet, validPool, type Obj } from './fixtures.js';

export interface BadInput {
  /** What is wrong, in words. */
  name: string;
  /** Which rule the case exercises (for the coverage report). */
  rule: string;
  make: () => Obj;
  /** Field path the error must name, e.g. spec.device.resourceName. */
  path: string;
  /** Fragment of the API server's message (case-insensitive). */
  api: string;
  /**
   * Fragment of the in-process (zod) message, or false when only the API server can see the
   * problem (unknown fields are pruned/rejected by the server; zod strips them).
   */
  zod: string | false;
}

const pool = (f: (o: Obj) => void) => () => {
  const o = validPool('bad-pool');
  f(o);
  return o;
};
const fleet = (f: (o: Obj) => void) => () => {
  const o = validFleet('bad-fleet');
  f(o);
  return o;
};
/** A valid network fleet (two ASICs) to break. */
const netFleet = (f: (o: Obj) => void) => () => {
  const o = validFleet('bad-net-fleet');
  o.spec.replicas = 1;
  o.spec.device = {
    kind: 'network',
    network: {
      targets: [
        { name: 'l3-a', host: '10.0.0.5', model: 'antminer-l3plus' },
        { name: 'l3-b', host: 'l3-b.rack1.lan' },
      ],
    },
  };
  o.spec.miner = { backend: 'network' };
  f(o);
  return o;
};
/** A valid usb fleet with an external miner and the supervisor sidecar, to break. */
const usbExternal = (f: (o: Obj) => void) => () => {
  const o = validFleet('bad-usb-fleet');
  o.spec.device = { kind: 'usb', hostDevices: ['/dev/ttyUSB0'] };
  o.spec.miner = { backend: 'usb', external: { image: 'example/bfgminer:5.5', args: ['--api-listen'] } };
  f(o);
  return o;
};

export const BAD_INPUTS: BadInput[] = [
  // ---------------- MiningPool ----------------
  { name: 'pool without spec', rule: 'required', make: pool((o) => delete o.spec), path: 'spec', api: 'Required value', zod: 'expected object' },
  {
    name: 'http:// url',
    rule: 'CEL url scheme',
    make: pool((o) => (o.spec.url = 'http://pool.example.com:3333')),
    path: 'spec.url',
    api: 'stratum+tcp:// or stratum+ssl://',
    zod: 'stratum+tcp:// or stratum+ssl://',
  },
  {
    name: 'url without port',
    rule: 'CEL url host:port',
    make: pool((o) => (o.spec.url = 'stratum+tcp://pool.example.com')),
    path: 'spec.url',
    api: 'host:port',
    zod: 'host:port',
  },
  { name: 'url missing', rule: 'required', make: pool((o) => delete o.spec.url), path: 'spec.url', api: 'Required value', zod: 'expected string' },
  { name: 'url is a number', rule: 'type', make: pool((o) => (o.spec.url = 3333)), path: 'spec.url', api: 'must be of type string', zod: 'expected string' },
  { name: 'no coins', rule: 'minItems', make: pool((o) => (o.spec.coins = [])), path: 'spec.coins', api: 'at least 1 items', zod: '>=1' },
  {
    name: 'unknown coin BTC',
    rule: 'enum',
    make: pool((o) => (o.spec.coins = ['BTC'])),
    path: 'spec.coins[0]',
    api: 'Unsupported value: "BTC"',
    zod: 'expected one of',
  },
  {
    name: 'coin listed twice',
    rule: 'list-type set',
    make: pool((o) => (o.spec.coins = ['LTC', 'LTC'])),
    path: 'spec.coins[1]',
    api: 'Duplicate value',
    zod: 'Duplicate value',
  },
  {
    name: 'no credentialsSecretRef',
    rule: 'required',
    make: pool((o) => delete o.spec.credentialsSecretRef),
    path: 'spec.credentialsSecretRef',
    api: 'Required value',
    zod: 'expected object',
  },
  {
    name: 'Secret name not a DNS name',
    rule: 'pattern',
    make: pool((o) => (o.spec.credentialsSecretRef.name = 'Pool_Creds')),
    path: 'spec.credentialsSecretRef.name',
    api: 'should match',
    zod: 'Invalid string',
  },
  {
    name: 'clear-text password in spec',
    rule: 'no password field (strict field validation)',
    make: pool((o) => (o.spec.password = 'hunter2')),
    path: 'spec.password',
    api: 'unknown field',
    zod: false,
  },
  {
    name: 'clear-text password in the Secret ref',
    rule: 'no password field (strict field validation)',
    make: pool((o) => (o.spec.credentialsSecretRef.password = 'hunter2')),
    path: 'spec.credentialsSecretRef.password',
    api: 'unknown field',
    zod: false,
  },
  {
    name: 'tls on a stratum+tcp url',
    rule: 'CEL tls requires stratum+ssl',
    make: pool((o) => (o.spec.url = 'stratum+tcp://pool.example.com:3333')),
    path: 'spec.tls',
    api: 'only allowed when spec.url uses stratum+ssl',
    zod: 'only allowed when spec.url uses stratum+ssl',
  },
  {
    name: 'CA key with a slash',
    rule: 'pattern',
    make: pool((o) => (o.spec.tls.caSecretRef.key = 'ca/crt')),
    path: 'spec.tls.caSecretRef.key',
    api: 'should match',
    zod: 'must be a Secret key',
  },
  {
    name: 'insecureSkipVerify together with a CA Secret',
    rule: 'CEL insecureSkipVerify excludes caSecretRef',
    make: pool((o) => (o.spec.tls.insecureSkipVerify = true)),
    path: 'spec.tls',
    api: 'no effect when spec.tls.insecureSkipVerify is true',
    zod: 'no effect when spec.tls.insecureSkipVerify is true',
  },
  {
    name: 'probe timeout longer than interval',
    rule: 'CEL timeout <= interval',
    make: pool((o) => (o.spec.probe = { intervalSeconds: 10, timeoutSeconds: 20 })),
    path: 'spec.probe.timeoutSeconds',
    api: 'must not exceed spec.probe.intervalSeconds',
    zod: 'must not exceed spec.probe.intervalSeconds',
  },
  {
    name: 'successThreshold above failureThreshold',
    rule: 'CEL successThreshold <= failureThreshold',
    make: pool((o) => (o.spec.probe = { failureThreshold: 2, successThreshold: 5 })),
    path: 'spec.probe.successThreshold',
    api: 'must not exceed spec.probe.failureThreshold',
    zod: 'must not exceed spec.probe.failureThreshold',
  },
  {
    name: 'probe every second',
    rule: 'minimum',
    make: pool((o) => (o.spec.probe = { intervalSeconds: 1, timeoutSeconds: 1 })),
    path: 'spec.probe.intervalSeconds',
    api: 'greater than or equal to 5',
    zod: '>=5',
  },
  {
    name: 'fractional failureThreshold',
    rule: 'type integer',
    make: pool((o) => (o.spec.probe = { failureThreshold: 2.5 })),
    path: 'spec.probe.failureThreshold',
    api: 'must be of type integer',
    zod: 'expected int',
  },
  {
    name: 'fee above 100 %',
    rule: 'maximum',
    make: pool((o) => (o.spec.feePercent = 150)),
    path: 'spec.feePercent',
    api: 'less than or equal to 100',
    zod: '<=100',
  },
  {
    name: 'unknown worker placeholder',
    rule: 'CEL workerNameTemplate',
    make: pool((o) => (o.spec.workerNameTemplate = '{{wallet}}.{{pod}}')),
    path: 'spec.workerNameTemplate',
    api: 'placeholders',
    zod: 'placeholders',
  },
  {
    name: 'egress CIDR that is a host name',
    rule: 'pattern egressCIDRs',
    make: pool((o) => (o.spec.egressCIDRs = ['pool.example/32'])),
    path: 'spec.egressCIDRs[0]',
    api: 'should match',
    zod: 'IPv4 CIDR',
  },
  {
    name: 'egress CIDR with host bits',
    rule: 'CEL egressCIDRs canonical',
    make: pool((o) => (o.spec.egressCIDRs = ['203.0.113.0/24', '198.51.100.7/24'])),
    path: 'spec.egressCIDRs',
    api: 'no host bits set',
    zod: 'no host bits set',
  },
  {
    name: 'repeated egress CIDR',
    rule: 'set egressCIDRs',
    make: pool((o) => (o.spec.egressCIDRs = ['203.0.113.0/24', '203.0.113.0/24'])),
    path: 'spec.egressCIDRs',
    api: 'Duplicate value',
    zod: 'Duplicate value',
  },

  // ---------------- MinerFleet ----------------
  {
    name: 'networkPolicy.enabled is a string',
    rule: 'type',
    make: fleet((o) => (o.spec.networkPolicy = { enabled: 'no' })),
    path: 'spec.networkPolicy.enabled',
    api: 'must be of type boolean',
    zod: 'expected boolean',
  },
  {
    name: 'fleet name longer than 45',
    rule: 'CEL metadata.name length',
    make: () => validFleet('f'.repeat(50)),
    path: 'metadata.name',
    api: 'at most 45 characters',
    zod: 'at most 45 characters',
  },
  {
    name: 'negative replicas',
    rule: 'minimum',
    make: fleet((o) => (o.spec.replicas = -1)),
    path: 'spec.replicas',
    api: 'greater than or equal to 0',
    zod: '>=0',
  },
  {
    name: 'replicas as a word',
    rule: 'type',
    make: fleet((o) => (o.spec.replicas = 'three')),
    path: 'spec.replicas',
    api: 'must be of type integer',
    zod: 'expected number, received string',
  },
  {
    name: 'device kind fpga',
    rule: 'enum',
    make: fleet((o) => (o.spec.device.kind = 'fpga')),
    path: 'spec.device.kind',
    api: 'Unsupported value: "fpga"',
    zod: 'expected one of',
  },
  {
    name: 'gpu without resourceName',
    rule: 'CEL gpu requires resourceName',
    make: fleet((o) => {
      o.spec.device = { kind: 'gpu' };
      o.spec.miner = { backend: 'gpu' };
    }),
    path: 'spec.device.resourceName',
    api: 'required when spec.device.kind is gpu',
    zod: 'required when spec.device.kind is gpu',
  },
  {
    name: 'usb without hostDevices',
    rule: 'CEL usb requires hostDevices',
    make: fleet((o) => {
      o.spec.device = { kind: 'usb' };
      o.spec.miner = { backend: 'usb' };
    }),
    path: 'spec.device.hostDevices',
    api: 'at least one device path',
    zod: 'at least one device path',
  },
  {
    name: 'hostDevices on a cpu fleet',
    rule: 'CEL hostDevices only for usb',
    make: fleet((o) => (o.spec.device.hostDevices = ['/dev/ttyACM0'])),
    path: 'spec.device.hostDevices',
    api: 'only allowed when spec.device.kind is usb',
    zod: 'only allowed when spec.device.kind is usb',
  },
  {
    name: 'host device outside /dev',
    rule: 'pattern',
    make: fleet((o) => {
      o.spec.device = { kind: 'usb', hostDevices: ['/etc/shadow'] };
      o.spec.miner = { backend: 'usb' };
    }),
    path: 'spec.device.hostDevices[0]',
    api: 'should match',
    zod: 'normalised path under /dev',
  },
  {
    name: 'same host device twice',
    rule: 'list-type set',
    make: fleet((o) => {
      o.spec.device = { kind: 'usb', hostDevices: ['/dev/ttyACM0', '/dev/ttyACM0'] };
      o.spec.miner = { backend: 'usb' };
    }),
    path: 'spec.device.hostDevices[1]',
    api: 'Duplicate value',
    zod: 'Duplicate value',
  },
  {
    name: 'resourceName on a cpu fleet',
    rule: 'CEL resourceName not for cpu',
    make: fleet((o) => (o.spec.device.resourceName = 'nvidia.com/gpu')),
    path: 'spec.device.resourceName',
    api: 'not allowed when spec.device.kind is cpu',
    zod: 'not allowed when spec.device.kind is cpu',
  },
  {
    name: 'zero devices per pod',
    rule: 'minimum',
    make: fleet((o) => (o.spec.device.perPod = 0)),
    path: 'spec.device.perPod',
    api: 'greater than or equal to 1',
    zod: '>=1',
  },
  {
    name: 'cpu backend on gpu devices',
    rule: 'CEL backend matches device kind',
    make: fleet((o) => {
      o.spec.device = { kind: 'gpu', resourceName: 'nvidia.com/gpu' };
      delete o.spec.miner.threads;
    }),
    path: 'spec.miner.backend',
    api: 'must match spec.device.kind',
    zod: 'must match spec.device.kind',
  },
  {
    name: 'threads with the gpu backend',
    rule: 'CEL threads only for cpu',
    make: fleet((o) => {
      o.spec.device = { kind: 'gpu', resourceName: 'nvidia.com/gpu' };
      o.spec.miner = { backend: 'gpu', threads: 4 };
    }),
    path: 'spec.miner.threads',
    api: 'only allowed with spec.miner.backend cpu',
    zod: 'only allowed with spec.miner.backend cpu',
  },
  {
    name: 'resource quantity "lots"',
    rule: 'pattern (int-or-string quantity)',
    make: fleet((o) => (o.spec.miner.resources.requests.cpu = 'lots')),
    path: 'spec.miner.resources.requests.cpu',
    api: 'should match',
    zod: 'Invalid',
  },
  {
    name: 'image pull policy Sometimes',
    rule: 'enum',
    make: fleet((o) => (o.spec.miner.imagePullPolicy = 'Sometimes')),
    path: 'spec.miner.imagePullPolicy',
    api: 'Unsupported value: "Sometimes"',
    zod: 'expected one of',
  },
  { name: 'no pools', rule: 'minItems', make: fleet((o) => (o.spec.pools = [])), path: 'spec.pools', api: 'at least 1 items', zod: '>=1' },
  { name: 'pools missing', rule: 'required', make: fleet((o) => delete o.spec.pools), path: 'spec.pools', api: 'Required value', zod: 'expected array' },
  {
    name: 'pool listed twice',
    rule: 'CEL unique pool names + list-map key',
    make: fleet(
      (o) =>
        (o.spec.pools = [
          { name: 'pool-a', priority: 0 },
          { name: 'pool-a', priority: 1 },
        ]),
    ),
    path: 'spec.pools',
    api: 'name must be unique',
    zod: 'name must be unique',
  },
  {
    name: 'two pools with the same priority',
    rule: 'CEL unique priorities',
    make: fleet((o) => (o.spec.pools[1].priority = 0)),
    path: 'spec.pools',
    api: 'priority must be unique',
    zod: 'priority must be unique',
  },
  {
    name: 'pool without priority',
    rule: 'required',
    make: fleet((o) => delete o.spec.pools[0].priority),
    path: 'spec.pools[0].priority',
    api: 'Required value',
    zod: 'received undefined',
  },
  {
    name: 'pool weight 0',
    rule: 'minimum',
    make: fleet((o) => (o.spec.pools[0].weight = 0)),
    path: 'spec.pools[0].weight',
    api: 'greater than or equal to 1',
    zod: '>=1',
  },
  {
    name: 'pool name with capitals',
    rule: 'pattern',
    make: fleet((o) => (o.spec.pools[0].name = 'Pool-A')),
    path: 'spec.pools[0].name',
    api: 'should match',
    zod: 'Invalid string',
  },
  {
    name: 'failover strategy RoundRobin',
    rule: 'enum',
    make: fleet((o) => (o.spec.failover = { strategy: 'RoundRobin' })),
    path: 'spec.failover.strategy',
    api: 'Unsupported value: "RoundRobin"',
    zod: 'expected one of',
  },
  {
    name: 'failback after a week',
    rule: 'maximum',
    make: fleet((o) => (o.spec.failover = { failbackAfterSeconds: 604800 })),
    path: 'spec.failover.failbackAfterSeconds',
    api: 'less than or equal to 86400',
    zod: '<=86400',
  },
  {
    name: 'resume margin below suspend margin',
    rule: 'CEL resumeMarginPercent >= minMarginPercent',
    make: fleet((o) => Object.assign(o.spec.economics, { minMarginPercent: 20, resumeMarginPercent: 10 })),
    path: 'spec.economics.resumeMarginPercent',
    api: 'greater than or equal to spec.economics.minMarginPercent',
    zod: 'greater than or equal to spec.economics.minMarginPercent',
  },
  {
    name: 'economics without power',
    rule: 'CEL enabled requires power',
    make: fleet((o) => delete o.spec.economics.power),
    path: 'spec.economics.power',
    api: 'required when spec.economics.enabled',
    zod: 'required when spec.economics.enabled',
  },
  {
    name: 'economics without electricity price',
    rule: 'CEL enabled requires electricityPrice',
    make: fleet((o) => delete o.spec.economics.electricityPrice),
    path: 'spec.economics.electricityPrice',
    api: 'required when spec.economics.enabled',
    zod: 'required when spec.economics.enabled',
  },
  {
    name: 'economics without feeds',
    rule: 'CEL enabled requires feeds',
    make: fleet((o) => (o.spec.economics.feeds = {})),
    path: 'spec.economics.feeds',
    api: 'at least one coin',
    zod: 'at least one coin',
  },
  {
    name: 'power both constant and measured',
    rule: 'CEL power exactly one of',
    make: fleet((o) => (o.spec.economics.power = { wattsPerMiner: 50, measured: {} })),
    path: 'spec.economics.power',
    api: 'exactly one of wattsPerMiner or measured',
    zod: 'exactly one of wattsPerMiner or measured',
  },
  {
    name: 'zero watts per miner',
    rule: 'exclusiveMinimum',
    make: fleet((o) => (o.spec.economics.power = { wattsPerMiner: 0 })),
    path: 'spec.economics.power.wattsPerMiner',
    api: 'greater than 0',
    zod: '>0',
  },
  {
    name: 'lower-case currency',
    rule: 'pattern',
    make: fleet((o) => (o.spec.economics.electricityPrice.currency = 'usd')),
    path: 'spec.economics.electricityPrice.currency',
    api: 'should match',
    zod: 'Invalid string',
  },
  {
    name: 'negative electricity price',
    rule: 'minimum',
    make: fleet((o) => (o.spec.economics.electricityPrice.perKWh = -0.1)),
    path: 'spec.economics.electricityPrice.perKWh',
    api: 'greater than or equal to 0',
    zod: '>=0',
  },
  {
    name: 'feed with two sources',
    rule: 'CEL feed exactly one source',
    make: fleet((o) => (o.spec.economics.feeds.LTC.blockReward = { value: 6.25, http: { url: 'https://x.example.com/r', fieldPath: 'reward' } })),
    path: 'spec.economics.feeds.LTC.blockReward',
    api: 'exactly one of value, http or litecoind',
    zod: 'exactly one of value, http or litecoind',
  },
  {
    name: 'feed with no source',
    rule: 'CEL feed exactly one source',
    make: fleet((o) => (o.spec.economics.feeds.LTC.blockReward = {})),
    path: 'spec.economics.feeds.LTC.blockReward',
    api: 'exactly one of',
    zod: 'exactly one of',
  },
  {
    name: 'price from litecoind',
    rule: 'CEL price cannot come from litecoind',
    make: fleet((o) => (o.spec.economics.feeds.LTC.price = { litecoind: { url: 'http://litecoind:9332', credentialsSecretRef: { name: 'rpc' } } })),
    path: 'spec.economics.feeds.LTC.price.litecoind',
    api: 'node cannot report a price',
    zod: 'node cannot report a price',
  },
  {
    name: 'malformed JSON field path',
    rule: 'pattern',
    make: fleet((o) => (o.spec.economics.feeds.LTC.price.http.fieldPath = 'data..price')),
    path: 'spec.economics.feeds.LTC.price.http.fieldPath',
    api: 'should match',
    zod: 'Invalid string',
  },
  {
    name: 'ftp:// price feed',
    rule: 'pattern',
    make: fleet((o) => (o.spec.economics.feeds.LTC.price.http.url = 'ftp://prices.example.com/ltc')),
    path: 'spec.economics.feeds.LTC.price.http.url',
    api: 'should match',
    zod: 'must be http(s)://',
  },
  {
    name: 'feed for an unknown coin',
    rule: 'no unknown fields (strict field validation)',
    make: fleet((o) => (o.spec.economics.feeds.BTC = o.spec.economics.feeds.LTC)),
    path: 'spec.economics.feeds.BTC',
    api: 'unknown field',
    zod: false,
  },
  {
    name: 'onStaleFeed Panic',
    rule: 'enum',
    make: fleet((o) => (o.spec.economics.onStaleFeed = 'Panic')),
    path: 'spec.economics.onStaleFeed',
    api: 'Unsupported value: "Panic"',
    zod: 'expected one of',
  },
  {
    name: '10 s evaluation window',
    rule: 'minimum',
    make: fleet((o) => (o.spec.economics.evaluationWindowSeconds = 10)),
    path: 'spec.economics.evaluationWindowSeconds',
    api: 'greater than or equal to 60',
    zod: '>=60',
  },
  {
    name: 'toleration Exists with a value',
    rule: 'CEL toleration Exists has no value',
    make: fleet((o) => (o.spec.placement.tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }])),
    path: 'spec.placement.tolerations[0].value',
    api: 'must be empty when operator is Exists',
    zod: 'must be empty when operator is Exists',
  },
  {
    name: 'node selector value is a number',
    rule: 'type',
    make: fleet((o) => (o.spec.placement.nodeSelector = { rig: 7 })),
    path: 'spec.placement.nodeSelector.rig',
    api: 'must be of type string',
    zod: 'expected string',
  },
  {
    name: 'node selector value is not a label value',
    rule: 'pattern label value',
    make: fleet((o) => (o.spec.placement.nodeSelector = { rig: 'rack 7' })),
    path: 'spec.placement.nodeSelector.rig',
    api: 'should match',
    zod: 'Invalid string',
  },
  {
    name: 'affinity with an unknown node selector operator',
    rule: 'enum affinity operator',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'rack', operator: 'Near', values: ['a'] }] }] },
          },
        }),
    ),
    path: 'spec.placement.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator',
    api: 'Unsupported value: "Near"',
    zod: 'Invalid option',
  },
  {
    name: 'affinity term without a topologyKey',
    rule: 'required affinity topologyKey',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'x' } } }] },
        }),
    ),
    path: 'spec.placement.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey',
    api: 'Required value',
    zod: 'expected string',
  },
  {
    name: 'preferred affinity weight above 100',
    rule: 'maximum affinity weight',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 101, preference: { matchExpressions: [{ key: 'cpu', operator: 'Exists' }] } }],
          },
        }),
    ),
    path: 'spec.placement.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
    api: 'less than or equal to 100',
    zod: '<=100',
  },
  {
    name: 'affinity is a string',
    rule: 'type affinity',
    make: fleet((o) => (o.spec.placement.affinity = { nodeAffinity: 'anywhere' })),
    path: 'spec.placement.affinity.nodeAffinity',
    api: 'must be of type object',
    zod: 'expected object',
  },
  {
    name: 'history kept for 0 days',
    rule: 'minimum',
    make: fleet((o) => (o.spec.history.retentionDays = 0)),
    path: 'spec.history.retentionDays',
    api: 'greater than or equal to 1',
    zod: '>=1',
  },
  // ---------------- external miners (network ASICs, spec.miner.external) ----------------
  {
    name: 'network fleet without device.network',
    rule: 'CEL network required',
    make: netFleet((o) => delete o.spec.device.network),
    path: 'spec.device.network',
    api: 'required when spec.device.kind is network',
    zod: 'required when spec.device.kind is network',
  },
  {
    name: 'device.network on a cpu fleet',
    rule: 'CEL network only for network',
    make: fleet((o) => (o.spec.device.network = { targets: [{ name: 'a', host: '10.0.0.5' }] })),
    path: 'spec.device.network',
    api: 'only allowed when spec.device.kind is network',
    zod: 'only allowed when spec.device.kind is network',
  },
  {
    name: 'network fleet with no targets',
    rule: 'minItems',
    make: netFleet((o) => (o.spec.device.network.targets = [])),
    path: 'spec.device.network.targets',
    api: 'at least 1 items',
    zod: '>=1',
  },
  {
    name: 'two targets with one name',
    rule: 'list-type map keys',
    make: netFleet(
      (o) =>
        (o.spec.device.network.targets = [
          { name: 'l3-a', host: '10.0.0.5' },
          { name: 'l3-a', host: '10.0.0.6' },
        ]),
    ),
    path: 'spec.device.network.targets[1]',
    api: 'Duplicate value',
    zod: 'Duplicate value',
  },
  {
    name: 'target name with upper case',
    rule: 'pattern',
    make: netFleet((o) => (o.spec.device.network.targets[0].name = 'L3-Rack1')),
    path: 'spec.device.network.targets[0].name',
    api: 'should match',
    zod: 'Invalid string',
  },
  {
    name: 'target host with a scheme',
    rule: 'pattern',
    make: netFleet((o) => (o.spec.device.network.targets[0].host = 'http://10.0.0.5')),
    path: 'spec.device.network.targets[0].host',
    api: 'should match',
    zod: 'must be a host name',
  },
  {
    name: 'target port 70000',
    rule: 'maximum',
    make: netFleet((o) => (o.spec.device.network.targets[0].port = 70000)),
    path: 'spec.device.network.targets[0].port',
    api: 'less than or equal to 65535',
    zod: '<=65535',
  },
  {
    name: 'unknown ASIC model',
    rule: 'enum',
    make: netFleet((o) => (o.spec.device.network.targets[0].model = 'antminer-s19')),
    path: 'spec.device.network.targets[0].model',
    api: 'Unsupported value: "antminer-s19"',
    zod: 'expected one of',
  },
  {
    name: 'poll interval 0',
    rule: 'minimum',
    make: netFleet((o) => (o.spec.device.network.pollIntervalSeconds = 0)),
    path: 'spec.device.network.pollIntervalSeconds',
    api: 'greater than or equal to 1',
    zod: '>=1',
  },
  {
    name: 'request timeout 10 ms',
    rule: 'minimum',
    make: netFleet((o) => (o.spec.device.network.requestTimeoutMs = 10)),
    path: 'spec.device.network.requestTimeoutMs',
    api: 'greater than or equal to 100',
    zod: '>=100',
  },
  {
    name: 'network fleet with neither targets nor targetsFrom',
    rule: 'CEL network exactly one of targets/targetsFrom',
    make: netFleet((o) => delete o.spec.device.network.targets),
    path: 'spec.device.network',
    api: 'must set exactly one of targets (inline) and targetsFrom',
    zod: 'must set exactly one of targets (inline) and targetsFrom',
  },
  {
    name: 'network fleet with both targets and targetsFrom',
    rule: 'CEL network exactly one of targets/targetsFrom',
    make: netFleet((o) => (o.spec.device.network.targetsFrom = { configMapRef: { name: 'rack-1' } })),
    path: 'spec.device.network',
    api: 'must set exactly one of targets (inline) and targetsFrom',
    zod: 'must set exactly one of targets (inline) and targetsFrom',
  },
  {
    name: 'targetsFrom without a ConfigMap name',
    rule: 'required',
    make: netFleet((o) => {
      delete o.spec.device.network.targets;
      o.spec.device.network.targetsFrom = { configMapRef: { key: 'targets.yaml' } };
    }),
    path: 'spec.device.network.targetsFrom.configMapRef.name',
    api: 'Required value',
    zod: 'expected string',
  },
  {
    name: 'targetsFrom key with a slash',
    rule: 'pattern',
    make: netFleet((o) => {
      delete o.spec.device.network.targets;
      o.spec.device.network.targetsFrom = { configMapRef: { name: 'rack-1', key: 'farm/targets.yaml' } };
    }),
    path: 'spec.device.network.targetsFrom.configMapRef.key',
    api: 'should match',
    zod: 'must be a ConfigMap key',
  },
  {
    name: 'targetsPerPod 0',
    rule: 'minimum',
    make: netFleet((o) => (o.spec.device.network.targetsPerPod = 0)),
    path: 'spec.device.network.targetsPerPod',
    api: 'greater than or equal to 1',
    zod: '>=1',
  },
  {
    name: 'targetsPerPod 1001',
    rule: 'maximum',
    make: netFleet((o) => (o.spec.device.network.targetsPerPod = 1001)),
    path: 'spec.device.network.targetsPerPod',
    api: 'less than or equal to 1000',
    zod: '<=1000',
  },
  {
    name: 'two supervisors for one network fleet',
    rule: 'CEL network replicas <= 1',
    make: netFleet((o) => (o.spec.replicas = 2)),
    path: 'spec.replicas',
    api: 'must be 0 or 1 when spec.device.kind is network',
    zod: 'must be 0 or 1 when spec.device.kind is network',
  },
  {
    name: 'resourceName on a network fleet',
    rule: 'CEL no resourceName for network',
    make: netFleet((o) => (o.spec.device.resourceName = 'example.com/asic')),
    path: 'spec.device.resourceName',
    api: 'not allowed when spec.device.kind is network',
    zod: 'not allowed when spec.device.kind is network',
  },
  {
    name: 'runtimeClassName on a network fleet',
    rule: 'CEL no runtimeClassName for network',
    make: netFleet((o) => (o.spec.device.runtimeClassName = 'nvidia')),
    path: 'spec.device.runtimeClassName',
    api: 'not allowed when spec.device.kind is network',
    zod: 'not allowed when spec.device.kind is network',
  },
  {
    name: 'network fleet with the cpu backend',
    rule: 'CEL backend matches device kind',
    make: netFleet((o) => (o.spec.miner.backend = 'cpu')),
    path: 'spec.miner.backend',
    api: 'must match spec.device.kind',
    zod: 'must match spec.device.kind',
  },
  {
    name: 'external miner on a cpu fleet',
    rule: 'CEL external only for gpu/usb',
    make: fleet((o) => (o.spec.miner.external = { image: 'example/cgminer:4.11' })),
    path: 'spec.miner.external',
    api: 'only allowed when spec.device.kind is gpu or usb',
    zod: 'only allowed when spec.device.kind is gpu or usb',
  },
  {
    name: 'external miner without image',
    rule: 'required',
    make: usbExternal((o) => delete o.spec.miner.external.image),
    path: 'spec.miner.external.image',
    api: 'Required value',
    zod: 'expected string',
  },
  {
    name: 'external miner API port 0',
    rule: 'minimum',
    make: usbExternal((o) => (o.spec.miner.external.apiPort = 0)),
    path: 'spec.miner.external.apiPort',
    api: 'greater than or equal to 1',
    zod: '>=1',
  },
  {
    name: "external miner API port on the supervisor sidecar's metrics port",
    rule: 'CEL apiPort is not the metrics port',
    make: usbExternal((o) => (o.spec.miner.external.apiPort = 9100)),
    path: 'spec.miner.external.apiPort',
    api: 'must not be 9100: the supervisor sidecar serves its metrics and probes on that port',
    zod: 'must not be 9100',
  },
  {
    name: 'external miner of an unknown model',
    rule: 'enum',
    make: usbExternal((o) => (o.spec.miner.external.model = 'gekkoscience')),
    path: 'spec.miner.external.model',
    api: 'Unsupported value: "gekkoscience"',
    zod: 'expected one of',
  },
  {
    name: 'external miner args not a list',
    rule: 'type',
    make: usbExternal((o) => (o.spec.miner.external.args = '--api-listen')),
    path: 'spec.miner.external.args',
    api: 'must be of type array',
    zod: 'expected array',
  },
  // ---------------- strict validation: what the fields become (issue 10 point 8) ----------------
  {
    name: 'pool url port 0',
    rule: 'CEL url port 1-65535',
    make: pool((o) => (o.spec.url = 'stratum+ssl://pool.example.com:0')),
    path: 'spec.url',
    api: 'port 1-65535',
    zod: 'port 1-65535',
  },
  {
    name: 'pool url port 99999',
    rule: 'CEL url port 1-65535',
    make: pool((o) => (o.spec.url = 'stratum+ssl://pool.example.com:99999')),
    path: 'spec.url',
    api: 'port 1-65535',
    zod: 'port 1-65535',
  },
  {
    name: 'pool url host 999.1.1.1',
    rule: 'CEL url host is a host name or IPv4',
    make: pool((o) => (o.spec.url = 'stratum+tcp://999.1.1.1:3333')),
    path: 'spec.url',
    api: 'IPv4 address',
    zod: 'IPv4 address',
  },
  {
    name: 'pool url host with an empty label',
    rule: 'CEL url host name',
    make: pool((o) => (o.spec.url = 'stratum+tcp://pool..example.com:3333')),
    path: 'spec.url',
    api: 'host name',
    zod: 'host name',
  },
  {
    name: 'Secret key ..data',
    rule: 'pattern Secret key (IsConfigMapKey)',
    make: pool((o) => (o.spec.credentialsSecretRef.userKey = '..data')),
    path: 'spec.credentialsSecretRef.userKey',
    api: 'should match',
    zod: 'must be a Secret key',
  },
  {
    name: 'TLS server name that is an IP address',
    rule: 'pattern serverName host name',
    make: pool((o) => (o.spec.tls.serverName = '10.0.0.1')),
    path: 'spec.tls.serverName',
    api: 'should match',
    zod: 'must be a DNS host name',
  },
  {
    name: 'host device path with ..',
    rule: 'pattern normalised /dev path',
    make: fleet((o) => {
      o.spec.device = { kind: 'usb', hostDevices: ['/dev/../etc/shadow'] };
      o.spec.miner = { backend: 'usb' };
    }),
    path: 'spec.device.hostDevices[0]',
    api: 'should match',
    zod: 'normalised path under /dev',
  },
  {
    name: 'host device path with a trailing slash',
    rule: 'pattern normalised /dev path',
    make: fleet((o) => {
      o.spec.device = { kind: 'usb', hostDevices: ['/dev/ttyACM0/'] };
      o.spec.miner = { backend: 'usb' };
    }),
    path: 'spec.device.hostDevices[0]',
    api: 'should match',
    zod: 'normalised path under /dev',
  },
  {
    name: 'gpu resourceName without a domain',
    rule: 'pattern extended resource name',
    make: fleet((o) => {
      o.spec.device = { kind: 'gpu', resourceName: 'gpu' };
      o.spec.miner = { backend: 'gpu' };
    }),
    path: 'spec.device.resourceName',
    api: 'should match',
    zod: 'extended resource name',
  },
  {
    name: 'gpu resourceName in kubernetes.io',
    rule: 'CEL extended resource name outside kubernetes.io',
    make: fleet((o) => {
      o.spec.device = { kind: 'gpu', resourceName: 'kubernetes.io/gpu' };
      o.spec.miner = { backend: 'gpu' };
    }),
    path: 'spec.device.resourceName',
    api: 'outside kubernetes.io',
    zod: 'outside kubernetes.io',
  },
  {
    name: 'negative quantity string',
    rule: 'pattern non-negative quantity',
    make: fleet((o) => (o.spec.miner.resources.requests.memory = '-64Mi')),
    path: 'spec.miner.resources.requests.memory',
    api: 'should match',
    zod: 'Invalid',
  },
  {
    name: 'negative quantity integer',
    rule: 'CEL non-negative integer quantity',
    make: fleet((o) => (o.spec.miner.resources.requests.cpu = -1)),
    path: 'spec.miner.resources.requests',
    api: 'must not be negative',
    zod: 'must not be negative',
  },
  {
    name: 'quantity with a fractional exponent',
    rule: 'pattern quantity (ParseQuantity)',
    make: fleet((o) => (o.spec.miner.resources.requests.cpu = '1e1.5')),
    path: 'spec.miner.resources.requests.cpu',
    api: 'should match',
    zod: 'Invalid',
  },
  {
    name: 'resource that is not a container resource',
    rule: 'CEL resource keys',
    make: fleet((o) => (o.spec.miner.resources.requests.gpu = '1')),
    path: 'spec.miner.resources.requests',
    api: 'keys must be cpu, memory, ephemeral-storage',
    zod: 'keys must be cpu, memory, ephemeral-storage',
  },
  {
    name: 'cpu request above its limit',
    rule: 'CEL requests <= limits',
    make: fleet((o) => (o.spec.miner.resources = { requests: { cpu: '2' }, limits: { cpu: '1500m' } })),
    path: 'spec.miner.resources.requests',
    api: 'must not exceed spec.miner.resources.limits',
    zod: 'must not exceed spec.miner.resources.limits',
  },
  {
    name: 'cpu request .1E (exa) above a limit of 1',
    rule: 'CEL requests <= limits (E is the exa suffix, not an exponent)',
    make: fleet((o) => (o.spec.miner.resources = { requests: { cpu: '.1E' }, limits: { cpu: 1 } })),
    path: 'spec.miner.resources.requests',
    api: 'must not exceed spec.miner.resources.limits',
    zod: 'must not exceed spec.miner.resources.limits',
  },
  {
    name: 'image with upper case and a space',
    rule: 'pattern image reference',
    make: fleet((o) => (o.spec.miner.image = 'Example/Miner latest')),
    path: 'spec.miner.image',
    api: 'should match',
    zod: 'must be an image reference',
  },
  {
    name: 'image with a short digest',
    rule: 'pattern image reference digest',
    make: usbExternal((o) => (o.spec.miner.external.image = 'example/bfgminer@sha256:abcd')),
    path: 'spec.miner.external.image',
    api: 'should match',
    zod: 'must be an image reference',
  },
  {
    name: 'target host that is not an IPv6 address',
    rule: 'CEL target host isIP',
    make: netFleet((o) => (o.spec.device.network.targets[0].host = '1:2:3:4:5:6:7:8:9')),
    path: 'spec.device.network.targets[0].host',
    api: 'valid IPv6 address',
    zod: 'valid IPv6 address',
  },
  {
    name: 'node selector key that is not a qualified name',
    rule: 'CEL map keys qualified names',
    make: fleet((o) => (o.spec.placement.nodeSelector = { 'rack 7': 'a' })),
    path: 'spec.placement.nodeSelector',
    api: 'keys must be a qualified name',
    zod: 'keys must be a qualified name',
  },
  {
    name: 'toleration without key and operator Equal',
    rule: 'CEL empty toleration key needs Exists',
    make: fleet((o) => (o.spec.placement.tolerations = [{ value: 'x' }])),
    path: 'spec.placement.tolerations[0].operator',
    api: 'must be Exists when key is empty',
    zod: 'must be Exists when key is empty',
  },
  {
    name: 'toleration key that is not a qualified name',
    rule: 'CEL toleration key qualified name',
    make: fleet((o) => (o.spec.placement.tolerations = [{ key: 'no spaces', operator: 'Exists' }])),
    path: 'spec.placement.tolerations[0].key',
    api: 'qualified name',
    zod: 'qualified name',
  },
  {
    name: 'tolerationSeconds without NoExecute',
    rule: 'CEL tolerationSeconds needs NoExecute',
    make: fleet((o) => (o.spec.placement.tolerations = [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }])),
    path: 'spec.placement.tolerations[0].effect',
    api: 'must be NoExecute',
    zod: 'must be NoExecute',
  },
  {
    name: 'node affinity In without values',
    rule: 'CEL In needs values',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'rack', operator: 'In' }] }] } },
        }),
    ),
    path: 'spec.placement.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values',
    api: 'must be non-empty when operator is In',
    zod: 'must be non-empty when operator is In',
  },
  {
    name: 'node affinity Gt with a word',
    rule: 'CEL Gt needs one integer',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cores', operator: 'Gt', values: ['many'] }] }] },
          },
        }),
    ),
    path: 'spec.placement.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values',
    api: 'single integer',
    zod: 'single integer',
  },
  {
    name: 'node affinity matchFields on a label',
    rule: 'enum matchFields key',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'rack', operator: 'In', values: ['a'] }] }] },
          },
        }),
    ),
    path: 'spec.placement.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key',
    api: 'Unsupported value: "rack"',
    zod: 'expected "metadata.name"',
  },
  {
    name: 'pod affinity matchLabelKeys without labelSelector',
    rule: 'CEL matchLabelKeys needs labelSelector',
    make: fleet(
      (o) =>
        (o.spec.placement.affinity = {
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', matchLabelKeys: ['app'] }] },
        }),
    ),
    path: 'spec.placement.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector',
    api: 'must not be set when labelSelector is not set',
    zod: 'must not be set when labelSelector is not set',
  },
  {
    name: 'feed URL with user info',
    rule: 'pattern http URL',
    make: fleet((o) => (o.spec.economics.feeds.LTC.price.http.url = 'https://user:pw@prices.example.com/ltc')),
    path: 'spec.economics.feeds.LTC.price.http.url',
    api: 'should match',
    zod: 'no user info',
  },
  {
    name: 'typo in a spec field',
    rule: 'no unknown fields (strict field validation)',
    make: fleet((o) => (o.spec.replica = 3)),
    path: 'spec.replica',
    api: 'unknown field',
    zod: false,
  },
];
