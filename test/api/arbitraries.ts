/**
 * fast-check arbitraries of valid MiningPools and MinerFleets, built on the same patterns and
 * bounds as the API (operator/src/api/v1alpha1/validators.ts and the schemas): every string leaf
 * is generated from the pattern its field is validated with, every number from its bounds, and
 * the cross-field rules are followed by construction. A generated case is still filtered through
 * the zod schemas, so "valid" means exactly what the API says it means.
 */
import fc from 'fast-check';
import { EXTERNAL_DEVICE_NAME_PATTERN } from '#miner/config';
import {
  API_VERSION,
  CONTAINER_RESOURCE_NAMES,
  DNS1123_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  EXTENDED_RESOURCE_NAME_PATTERN,
  EXTERNAL_MODEL_IDS,
  HOST_DEVICE_PATH_PATTERN,
  HOSTNAME_PATTERN,
  HTTP_URL_PATTERN,
  IMAGE_REFERENCE_PATTERN,
  IPV4_TEXT,
  isExtendedResourceName,
  isQualifiedName,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  MAX_FLEET_NAME_LENGTH,
  MinerFleetSpecSchema,
  MiningPoolSpecSchema,
  NETWORK_HOST_PATTERN,
  QUANTITY_PATTERN,
  SECRET_KEY_PATTERN,
  STRATUM_URL_PATTERN,
  SUPERVISOR_METRICS_PORT,
  WORKER_NAME_TEMPLATE_PATTERN,
  compareQuantities,
} from '../../operator/src/api/v1alpha1/index.js';
import type { Obj } from './fixtures.js';

const matching = (pattern: string | RegExp, maxLength: number, minLength = 1) =>
  fc.stringMatching(typeof pattern === 'string' ? new RegExp(pattern) : pattern).filter((s) => s.length >= minLength && s.length <= maxLength);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
/** A record without the keys whose value came out undefined (the API has no nulls). */
const compact = (o: Record<string, unknown>): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export const dnsSubdomain = (max = 63) => matching(DNS_SUBDOMAIN_PATTERN, max);
export const dnsLabel = matching(DNS1123_LABEL_PATTERN, 63);
export const labelKey = matching(LABEL_KEY_PATTERN, 317).filter(isQualifiedName);
export const labelValue = matching(LABEL_VALUE_PATTERN, 63, 0);
export const labelMap = fc.dictionary(labelKey, labelValue, { maxKeys: 4 });
export const secretKey = matching(SECRET_KEY_PATTERN, 253);
export const hostname = matching(HOSTNAME_PATTERN, 253);
export const ipv4 = matching(`^${IPV4_TEXT}$`, 15);
export const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(1, 65535));
/** IPv6 hosts as fast-check writes them, kept to the bracket-less, zone-less, IPv4-free form the API takes. */
export const ipv6 = fc.ipV6().filter((a) => new RegExp(NETWORK_HOST_PATTERN).test(a));
export const networkHost = fc.oneof(hostname, ipv4, ipv6);
export const quantity = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), matching(QUANTITY_PATTERN, 64));
export const image = matching(IMAGE_REFERENCE_PATTERN, 255);

export const resources = fc
  .record(
    {
      requests: fc.dictionary(fc.constantFrom(...CONTAINER_RESOURCE_NAMES), quantity, { maxKeys: 3 }),
      limits: fc.dictionary(fc.constantFrom(...CONTAINER_RESOURCE_NAMES), quantity, { maxKeys: 3 }),
    },
    { requiredKeys: [] },
  )
  // A request above its limit is invalid; swap the pair so the case stays valid.
  .map((r) => {
    if (!r.requests || !r.limits) return r;
    const requests = { ...r.requests };
    const limits = { ...r.limits };
    for (const k of Object.keys(requests)) {
      const lim = limits[k];
      if (lim !== undefined && compareQuantities(requests[k]!, lim) > 0) [requests[k], limits[k]] = [lim, requests[k]!];
    }
    return { requests, limits };
  });

export const toleration = fc
  .record(
    {
      key: fc.oneof(labelKey, fc.constant('')),
      operator: fc.constantFrom('Exists', 'Equal'),
      value: labelValue,
      effect: fc.constantFrom('NoSchedule', 'PreferNoSchedule', 'NoExecute'),
      tolerationSeconds: fc.integer({ min: 0, max: 86400 }),
    },
    { requiredKeys: [] },
  )
  .map((t) => {
    const out: Obj = { ...t };
    if (!out.key) out.operator = 'Exists';
    if (out.operator === 'Exists') delete out.value;
    if (out.tolerationSeconds !== undefined) out.effect = 'NoExecute';
    return out;
  });

/** A selector requirement; `numeric` adds Gt/Lt (node selectors). */
const requirement = (numeric: boolean) =>
  fc
    .record({
      key: labelKey,
      operator: fc.constantFrom(...(numeric ? ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] : ['In', 'NotIn', 'Exists', 'DoesNotExist'])),
      values: fc.array(labelValue, { minLength: 1, maxLength: 3 }),
      number: fc.integer({ min: -1000, max: 1000 }),
    })
    .map(({ key, operator, values, number }) => {
      if (operator === 'Exists' || operator === 'DoesNotExist') return { key, operator };
      if (operator === 'Gt' || operator === 'Lt') return { key, operator, values: [String(number)] };
      return { key, operator, values };
    });

const nodeSelectorTerm = fc
  .record(
    {
      matchExpressions: fc.array(requirement(true), { maxLength: 3 }),
      matchFields: fc.array(
        fc.record({ key: fc.constant('metadata.name'), operator: fc.constantFrom('In', 'NotIn'), values: fc.tuple(dnsSubdomain(253)).map((v) => [...v]) }),
        { maxLength: 1 },
      ),
    },
    { requiredKeys: [] },
  )
  .map(compact);

const labelSelector = fc.record({ matchLabels: labelMap, matchExpressions: fc.array(requirement(false), { maxLength: 2 }) }, { requiredKeys: [] });

const podAffinityTerm = fc
  .record(
    {
      labelSelector,
      namespaceSelector: labelSelector,
      namespaces: fc.array(dnsLabel, { maxLength: 2 }),
      topologyKey: labelKey,
      matchLabelKeys: fc.uniqueArray(labelKey, { maxLength: 2 }),
      mismatchLabelKeys: fc.uniqueArray(labelKey, { maxLength: 2 }),
    },
    { requiredKeys: ['topologyKey'] },
  )
  .map((t) => {
    const out: Obj = { ...t };
    if (!out.labelSelector) {
      delete out.matchLabelKeys;
      delete out.mismatchLabelKeys;
    }
    return out;
  });

const podAffinity = fc.record(
  {
    requiredDuringSchedulingIgnoredDuringExecution: fc.array(podAffinityTerm, { maxLength: 2 }),
    preferredDuringSchedulingIgnoredDuringExecution: fc.array(fc.record({ weight: fc.integer({ min: 1, max: 100 }), podAffinityTerm }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

export const affinity = fc.record(
  {
    nodeAffinity: fc.record(
      {
        requiredDuringSchedulingIgnoredDuringExecution: fc.record({ nodeSelectorTerms: fc.array(nodeSelectorTerm, { minLength: 1, maxLength: 2 }) }),
        preferredDuringSchedulingIgnoredDuringExecution: fc.array(fc.record({ weight: fc.integer({ min: 1, max: 100 }), preference: nodeSelectorTerm }), {
          maxLength: 2,
        }),
      },
      { requiredKeys: [] },
    ),
    podAffinity,
    podAntiAffinity: podAffinity,
  },
  { requiredKeys: [] },
);

export const placement = fc.record(
  {
    nodeSelector: labelMap,
    tolerations: fc.array(toleration, { maxLength: 3 }),
    affinity,
    priorityClassName: dnsSubdomain(253),
  },
  { requiredKeys: [] },
);

/** A canonical IPv4 CIDR (host bits cleared). */
const ipv4Cidr = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([n, bits]) => {
  const masked = bits === 0 ? 0 : Number(BigInt(n) & (((1n << BigInt(bits)) - 1n) << BigInt(32 - bits)));
  return `${[24, 16, 8, 0].map((s) => (masked >>> s) & 255).join('.')}/${bits}`;
});

export function poolSpec(): fc.Arbitrary<Obj> {
  return fc
    .record({
      url: matching(STRATUM_URL_PATTERN, 512),
      coins: fc.subarray(['LTC', 'DOGE'], { minLength: 1 }),
      credentialsSecretRef: fc.record({ name: dnsSubdomain(253), userKey: secretKey, passwordKey: secretKey }, { requiredKeys: ['name'] }),
      workerNameTemplate: opt(matching(WORKER_NAME_TEMPLATE_PATTERN, 128)),
      tls: opt(
        fc.record(
          {
            caSecretRef: fc.record({ name: dnsSubdomain(253), key: secretKey }, { requiredKeys: ['name'] }),
            serverName: hostname,
            insecureSkipVerify: fc.boolean(),
          },
          { requiredKeys: [] },
        ),
      ),
      probe: opt(
        fc
          .record({
            intervalSeconds: fc.integer({ min: 5, max: 3600 }),
            timeout: fc.integer({ min: 1, max: 300 }),
            a: fc.integer({ min: 1, max: 100 }),
            b: fc.integer({ min: 1, max: 100 }),
          })
          .map(({ intervalSeconds, timeout, a, b }) => ({
            intervalSeconds,
            timeoutSeconds: Math.min(timeout, intervalSeconds),
            failureThreshold: Math.max(a, b),
            successThreshold: Math.min(a, b),
          })),
      ),
      egressCIDRs: opt(fc.uniqueArray(ipv4Cidr, { minLength: 1, maxLength: 4 })),
      feePercent: opt(fc.double({ min: 0, max: 100, noNaN: true })),
    })
    .map((p) => {
      const spec = compact(p);
      if (spec.tls && !String(spec.url).startsWith('stratum+ssl://')) delete spec.tls;
      if (spec.tls?.insecureSkipVerify === true) delete spec.tls.caSecretRef;
      return spec;
    })
    .filter((spec) => MiningPoolSpecSchema.safeParse(spec).success);
}

const networkTargets = fc
  .uniqueArray(
    fc.record(
      { name: matching(EXTERNAL_DEVICE_NAME_PATTERN, 63), host: networkHost, port, model: fc.constantFrom(...EXTERNAL_MODEL_IDS) },
      { requiredKeys: ['name', 'host'] },
    ),
    { minLength: 1, maxLength: 4, selector: (t) => t.name },
  )
  .map((ts) => ts.map(compact));

const external = fc.record(
  {
    image,
    command: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
    args: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
    // Any port but the supervisor sidecar's metrics port (a CEL rule refuses that one).
    apiPort: port.filter((p) => p !== SUPERVISOR_METRICS_PORT),
    model: fc.constantFrom(...EXTERNAL_MODEL_IDS),
  },
  { requiredKeys: ['image'] },
);

const extendedResource = matching(EXTENDED_RESOURCE_NAME_PATTERN, 308).filter(isExtendedResourceName);

/** device + miner for one device kind, consistent by construction (backend = kind, threads only for cpu, …). */
const deviceAndMiner = fc.oneof(
  fc
    .record({ threads: opt(fc.integer({ min: 1, max: 256 })) })
    .map(({ threads }) => ({ device: { kind: 'cpu' }, miner: compact({ backend: 'cpu', threads }) })),
  fc
    .record({ resourceName: extendedResource, perPod: fc.integer({ min: 1, max: 64 }), runtimeClassName: opt(dnsSubdomain(253)), external: opt(external) })
    .map(({ resourceName, perPod, runtimeClassName, external }) => ({
      device: compact({ kind: 'gpu', resourceName, perPod, runtimeClassName }),
      miner: compact({ backend: 'gpu', external }),
    })),
  fc
    .record({
      hostDevices: fc.uniqueArray(matching(HOST_DEVICE_PATH_PATTERN, 256, 6), { minLength: 1, maxLength: 4 }),
      resourceName: opt(extendedResource),
      perPod: fc.integer({ min: 1, max: 64 }),
      external: opt(external),
    })
    .map(({ hostDevices, resourceName, perPod, external }) => ({
      device: compact({ kind: 'usb', hostDevices, resourceName, perPod }),
      miner: compact({ backend: 'usb', external }),
    })),
  fc
    .record({
      targets: networkTargets,
      pollIntervalSeconds: opt(fc.integer({ min: 1, max: 3600 })),
      requestTimeoutMs: opt(fc.integer({ min: 100, max: 60000 })),
    })
    .map((network) => ({ device: { kind: 'network', network: compact(network) }, miner: { backend: 'network' } })),
);

const economics = fc.record({
  power: fc.record({ wattsPerMiner: fc.double({ min: 1, max: 1000, noNaN: true }) }),
  electricityPrice: fc.record({ perKWh: fc.double({ min: 0, max: 1, noNaN: true }) }),
  feeds: fc.record({
    LTC: fc.record({
      price: fc.record({ http: fc.record({ url: matching(HTTP_URL_PATTERN, 2048), fieldPath: fc.constant('data[0].price') }) }),
      difficulty: fc.record({ litecoind: fc.record({ url: matching(HTTP_URL_PATTERN, 2048), credentialsSecretRef: fc.record({ name: dnsSubdomain(253) }) }) }),
      blockReward: fc.record({ value: fc.double({ min: 0, max: 100, noNaN: true }) }),
    }),
  }),
});

export interface FleetCase {
  fleetName: string;
  pools: Array<{ name: string; spec: Obj }>;
  fleet: Obj;
}

/** A fleet and the pools it references (1–3), all valid. */
export const fleetCase: fc.Arbitrary<FleetCase> = fc
  .record({
    fleetName: dnsSubdomain(MAX_FLEET_NAME_LENGTH),
    pools: fc.uniqueArray(
      fc.record({ name: dnsSubdomain(63), spec: poolSpec(), priority: fc.integer({ min: 0, max: 1000 }), weight: fc.integer({ min: 1, max: 1000 }) }),
      {
        minLength: 1,
        maxLength: 3,
        selector: (p) => p.name,
      },
    ),
    dm: deviceAndMiner,
    replicas: fc.integer({ min: 0, max: 10000 }),
    image: opt(image),
    imagePullPolicy: opt(fc.constantFrom('Always', 'IfNotPresent', 'Never')),
    logLevel: opt(fc.constantFrom('debug', 'info', 'warn', 'error')),
    resources: opt(resources),
    placement: opt(placement),
    economics: opt(economics),
    networkPolicy: fc.boolean(),
    paused: fc.boolean(),
  })
  .map((c) => {
    const priorities = new Set<number>();
    const refs = c.pools.map((p) => {
      let priority = p.priority;
      while (priorities.has(priority)) priority = (priority + 1) % 1001;
      priorities.add(priority);
      return { name: p.name, priority, weight: p.weight };
    });
    const miner = compact({ ...c.dm.miner, image: c.image, imagePullPolicy: c.imagePullPolicy, logLevel: c.logLevel, resources: c.resources });
    const spec = compact({
      replicas: c.dm.device.kind === 'network' ? Math.min(c.replicas, 1) : c.replicas,
      device: c.dm.device,
      miner,
      pools: refs,
      placement: c.placement,
      economics: c.economics,
      networkPolicy: { enabled: c.networkPolicy },
      paused: c.paused,
    });
    return {
      fleetName: c.fleetName,
      pools: c.pools.map((p) => ({ name: p.name, spec: p.spec })),
      fleet: { apiVersion: API_VERSION, kind: 'MinerFleet', metadata: { name: c.fleetName }, spec },
    };
  })
  .filter((c) => MinerFleetSpecSchema.safeParse(c.fleet.spec).success);
