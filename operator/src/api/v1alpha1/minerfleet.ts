import { z } from 'zod';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { EXTERNAL_DEVICE_NAME_PATTERN } from '#miner/config';
import { MODELS } from '#miner/external/models';
import { withCel, type CrossFieldRule } from './cel.js';
import { AffinitySchema } from './affinity.js';
import { ConditionsSchema, timestamp, uniqueItems } from './common.js';
import {
  dnsSubdomainName,
  extendedResourceName,
  hostDevicePath,
  imageReference,
  isQualifiedName,
  LABEL_KEY_MAX,
  labelMap,
  labelValue,
  celPattern,
  LABEL_KEY_PATTERN,
  networkHost,
  port,
  REQUESTS_WITHIN_LIMITS_RULE,
  requestsWithinLimits,
  resourceList,
} from './validators.js';
import {
  CGMINER_API_PORT,
  DEVICE_KINDS,
  FAILOVER_STRATEGIES,
  MAX_FLEET_NAME_LENGTH,
  MAX_NETWORK_TARGETS,
  MAX_NETWORK_TARGETS_FROM_CONFIGMAP,
  MINER_BACKENDS,
  SUPERVISOR_METRICS_PORT,
} from './constants.js';
import { EconomicsSchema } from './economics.js';

export const MAX_POOLS_PER_FLEET = 16;
export const MAX_HOST_DEVICES = 64;
/** Most hashing threads of one cpu miner pod (spec.miner.threads, and the default derived from its CPU). */
export const MAX_MINER_THREADS = 256;

/** Model ids of the supervisor's unit table (miner/src/external/models.ts): one list for both sides. */
export const EXTERNAL_MODEL_IDS = MODELS.map((m) => m.id) as [string, ...string[]];

const modelField = (description: string) => z.enum(EXTERNAL_MODEL_IDS).optional().meta({ description });

export const NetworkTargetSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(EXTERNAL_DEVICE_NAME_PATTERN)
      .meta({ description: 'Device name: the device label of its metrics and the last part of its pool worker name (lower case, digits, - and .).' }),
    host: networkHost('Host name or IP address of the device API.', 'spec.device.network.targets[*].host'),
    port: port('cgminer API port of the device.').default(CGMINER_API_PORT),
    model: modelField('Model, for unit normalisation (some scrypt firmware reports MH/s under keys named GHS); detected from the device when absent.'),
  })
  .meta({ description: 'One networked ASIC the supervisor drives over the cgminer API.' });
export type NetworkTarget = z.output<typeof NetworkTargetSchema>;

/**
 * A list of targets: names unique (the device label of their metrics, their worker name). `where`
 * names the list in messages (the spec field, or the ConfigMap it was read from).
 */
export function networkTargetList(max: number, where: string) {
  return z
    .array(NetworkTargetSchema)
    .min(1)
    .max(max)
    .superRefine((targets, ctx) => {
      const seen = new Set<string>();
      targets.forEach((t, i) => {
        if (seen.has(t.name)) ctx.addIssue({ code: 'custom', message: `Duplicate value: ${where}[*].name "${t.name}" repeats`, path: [i, 'name'] });
        seen.add(t.name);
      });
    });
}

/** The key of spec.device.network.targetsFrom.configMapRef when none is given. */
export const DEFAULT_TARGETS_KEY = 'targets.yaml';

export const TargetsFromSchema = z
  .object({
    configMapRef: z
      .object({
        name: dnsSubdomainName('Name of a ConfigMap in the fleet namespace.'),
        key: z
          .string()
          .min(1)
          .max(253)
          .regex(/^[-._a-zA-Z0-9]+$/, { error: "must be a ConfigMap key (letters, digits, '-', '_' and '.')" })
          .default(DEFAULT_TARGETS_KEY)
          .meta({ description: `Key of the ConfigMap holding the list (default ${DEFAULT_TARGETS_KEY}).` }),
      })
      .meta({
        description: `ConfigMap whose key holds a YAML or JSON list of targets (the same objects as spec.device.network.targets, at most ${MAX_NETWORK_TARGETS_FROM_CONFIGMAP}). An edit applies to the running fleet; a missing or invalid list is reported in the DeviceTargetsResolved condition and the last good list keeps running.`,
      }),
  })
  .meta({ description: 'Where the list of targets comes from when it is too long for the fleet object (hundreds of devices).' });
export type TargetsFrom = z.output<typeof TargetsFromSchema>;

export const NetworkDevicesSchema = withCel(
  z
    .object({
      targets: networkTargetList(MAX_NETWORK_TARGETS, 'spec.device.network.targets')
        .optional()
        .meta({
          description: 'The ASICs of the fleet, each by its cgminer API endpoint (or targetsFrom).',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
        }),
      targetsFrom: TargetsFromSchema.optional(),
      targetsPerPod: z
        .int()
        .min(1)
        .max(MAX_NETWORK_TARGETS)
        .default(MAX_NETWORK_TARGETS)
        .meta({
          description: `Most targets one supervisor pod drives: the fleet runs ceil(targets / targetsPerPod) supervisor pods, each driving its own devices (never two on one device). The default ${MAX_NETWORK_TARGETS} (the longest inline list) keeps one pod.`,
        }),
      pollIntervalSeconds: z
        .int()
        .min(1)
        .max(3600)
        .default(5)
        .meta({ description: 'Seconds between two polls of a device (a changed pool decision or suspension is applied at once).' }),
      requestTimeoutMs: z
        .int()
        .min(100)
        .max(60000)
        .default(3000)
        .meta({ description: 'Milliseconds a device API request may take; a device that hangs costs only its own requests.' }),
    })
    .meta({
      description:
        'Networked ASICs (device.kind network): supervisor pods apply the pool decision, credentials and suspension to the targets (each pod to its share, targetsPerPod at most) and export their metrics.',
    }),
  [
    {
      rule: 'has(self.targets) != has(self.targetsFrom)',
      message: 'spec.device.network must set exactly one of targets (inline) and targetsFrom (a ConfigMap)',
      reason: 'FieldValueInvalid',
      holds: (n) => (n.targets !== undefined) !== (n.targetsFrom !== undefined),
    },
  ],
);
export type NetworkDevices = z.output<typeof NetworkDevicesSchema>;

export const DeviceSchema = withCel(
  z
    .object({
      kind: z.enum(DEVICE_KINDS).default('cpu').meta({
        description:
          'What the miners hash on: cpu, gpu (extended resource), usb (ASIC sticks on host device paths) or network (ASICs on the network, driven over the cgminer API).',
      }),
      resourceName: extendedResourceName(
        'Extended resource each pod requests perPod of, e.g. nvidia.com/gpu. Required for gpu; optional for usb (device plugin).',
        'spec.device.resourceName',
      ).optional(),
      perPod: z.int().min(1).max(64).default(1).meta({ description: 'Devices per miner pod (GPUs requested, or USB sticks driven).' }),
      hostDevices: uniqueItems(
        z
          .array(hostDevicePath('A host device path, e.g. /dev/ttyACM0 or /dev/bus/usb/001/004.'))
          .max(MAX_HOST_DEVICES)
          .meta({ description: 'Host character devices (USB ASICs) mounted into the miner pods. Required for usb.', 'x-kubernetes-list-type': 'set' }),
        'spec.device.hostDevices',
      ).optional(),
      runtimeClassName: dnsSubdomainName('RuntimeClass for the miner pods, e.g. nvidia.').optional(),
      network: NetworkDevicesSchema.optional(),
    })
    .meta({ description: 'The hashing device the miners use.' }),
  [
    {
      rule: "self.kind != 'gpu' || has(self.resourceName)",
      message: 'spec.device.resourceName is required when spec.device.kind is gpu (e.g. nvidia.com/gpu)',
      fieldPath: '.resourceName',
      reason: 'FieldValueRequired',
      holds: (d) => d.kind !== 'gpu' || d.resourceName !== undefined,
    },
    {
      rule: "self.kind != 'usb' || (has(self.hostDevices) && size(self.hostDevices) > 0)",
      message: 'spec.device.hostDevices must list at least one device path when spec.device.kind is usb',
      fieldPath: '.hostDevices',
      reason: 'FieldValueRequired',
      holds: (d) => d.kind !== 'usb' || (d.hostDevices !== undefined && d.hostDevices.length > 0),
    },
    {
      rule: "!has(self.hostDevices) || self.kind == 'usb'",
      message: 'spec.device.hostDevices is only allowed when spec.device.kind is usb',
      fieldPath: '.hostDevices',
      reason: 'FieldValueForbidden',
      holds: (d) => d.hostDevices === undefined || d.kind === 'usb',
    },
    {
      rule: "!has(self.resourceName) || self.kind != 'cpu'",
      message: 'spec.device.resourceName is not allowed when spec.device.kind is cpu',
      fieldPath: '.resourceName',
      reason: 'FieldValueForbidden',
      holds: (d) => d.resourceName === undefined || d.kind !== 'cpu',
    },
    {
      rule: "self.kind != 'network' || has(self.network)",
      message: 'spec.device.network is required when spec.device.kind is network (the ASICs to drive)',
      fieldPath: '.network',
      reason: 'FieldValueRequired',
      holds: (d) => d.kind !== 'network' || d.network !== undefined,
    },
    {
      rule: "!has(self.network) || self.kind == 'network'",
      message: 'spec.device.network is only allowed when spec.device.kind is network',
      fieldPath: '.network',
      reason: 'FieldValueForbidden',
      holds: (d) => d.network === undefined || d.kind === 'network',
    },
    {
      rule: "!has(self.resourceName) || self.kind != 'network'",
      message: 'spec.device.resourceName is not allowed when spec.device.kind is network (the ASICs are not in the pod)',
      fieldPath: '.resourceName',
      reason: 'FieldValueForbidden',
      holds: (d) => d.resourceName === undefined || d.kind !== 'network',
    },
    {
      rule: "!has(self.runtimeClassName) || self.kind != 'network'",
      message: 'spec.device.runtimeClassName is not allowed when spec.device.kind is network (the supervisor needs no device runtime)',
      fieldPath: '.runtimeClassName',
      reason: 'FieldValueForbidden',
      holds: (d) => d.runtimeClassName === undefined || d.kind !== 'network',
    },
  ],
);
export type Device = z.output<typeof DeviceSchema>;

export const ExternalMinerSchema = withCel(
  z
    .object({
      image: imageReference('Image of the external miner (cgminer, bfgminer, sgminer or a vendor build) that drives the device.', 'spec.miner.external.image'),
      command: z
        .array(z.string().max(4096).meta({ description: 'An entrypoint word.' }))
        .max(32)
        .optional()
        .meta({ description: "Entrypoint of the external miner container; the image's when absent.", 'x-kubernetes-list-type': 'atomic' }),
      args: z
        .array(z.string().max(4096).meta({ description: 'An argument.' }))
        .max(128)
        .optional()
        .meta({
          description:
            'Arguments of the external miner; they must enable its API on apiPort with privileged access from 127.0.0.1 (e.g. --api-listen --api-allow W:127.0.0.1).',
          'x-kubernetes-list-type': 'atomic',
        }),
      apiPort: port(
        `Port of its cgminer API inside the pod; the supervisor sidecar connects to 127.0.0.1 on it. Not ${SUPERVISOR_METRICS_PORT}: the sidecar serves its metrics and probes there.`,
      ).default(CGMINER_API_PORT),
      model: modelField('Model, for unit normalisation; detected from the miner when absent.'),
    })
    .meta({
      description:
        'Run an external miner for the gpu or usb devices, with our supervisor as a sidecar: it pushes the fleet pools and credentials to the miner over its cgminer API and exports its metrics. The device resources and mounts go to this container.',
    }),
  [
    {
      // The containers of a pod share its network namespace: the miner's API and the sidecar's
      // metrics/probe port would collide (one of them fails to bind, the pod never gets ready).
      rule: `self.apiPort != ${SUPERVISOR_METRICS_PORT}`,
      message: `spec.miner.external.apiPort must not be ${SUPERVISOR_METRICS_PORT}: the supervisor sidecar serves its metrics and probes on that port in the same pod (use the cgminer default ${CGMINER_API_PORT} or another free port)`,
      fieldPath: '.apiPort',
      reason: 'FieldValueInvalid',
      holds: (e) => e.apiPort !== SUPERVISOR_METRICS_PORT,
    },
  ],
);
export type ExternalMiner = z.output<typeof ExternalMinerSchema>;

export const ResourcesSchema = withCel(
  z
    .object({
      requests: resourceList('Minimum resources, e.g. cpu: "1", memory: 256Mi.', 'spec.miner.resources.requests').optional(),
      limits: resourceList('Maximum resources, e.g. cpu: "2", memory: 512Mi.', 'spec.miner.resources.limits').optional(),
    })
    .meta({ description: 'Compute resources of the miner container (the device resource is added by the operator).' }),
  [
    {
      rule: REQUESTS_WITHIN_LIMITS_RULE,
      message: 'spec.miner.resources.requests must not exceed spec.miner.resources.limits for the same resource',
      fieldPath: '.requests',
      holds: requestsWithinLimits,
    },
  ],
);

export const MinerSchema = z
  .object({
    image: imageReference(
      'Miner container image (also the supervisor of external miners); defaults to the image the operator was installed with.',
      'spec.miner.image',
    ).optional(),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional().meta({ description: 'Image pull policy of the miner container.' }),
    backend: z.enum(MINER_BACKENDS).default('cpu').meta({ description: 'Hashing backend of the miner program; must match spec.device.kind.' }),
    threads: z
      .int()
      .min(1)
      .max(MAX_MINER_THREADS)
      .optional()
      .meta({ description: 'Hashing threads per pod (cpu backend); defaults to the CPUs the pod may use.' }),
    resources: ResourcesSchema.optional(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).optional().meta({ description: 'Log level of the miner program (default info).' }),
    external: ExternalMinerSchema.optional(),
  })
  .meta({ description: 'The miner program run in each pod.' });
export type Miner = z.output<typeof MinerSchema>;

export const FleetPoolRefSchema = z
  .object({
    name: dnsSubdomainName('Name of a MiningPool in the same namespace.'),
    priority: z.int().min(0).max(1000).meta({ description: 'Failover order: the available pool with the lowest priority is used (Priority strategy).' }),
    weight: z.int().min(1).max(1000).default(1).meta({ description: 'Relative share of miners on this pool (Weighted strategy).' }),
  })
  .meta({ description: 'A pool the fleet may mine on.' });
export type FleetPoolRef = z.output<typeof FleetPoolRefSchema>;

export const FleetPoolsSchema = withCel(
  z
    .array(FleetPoolRefSchema)
    .min(1)
    .max(MAX_POOLS_PER_FLEET)
    .meta({
      description: 'Pools the fleet may mine on, in failover order.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  [
    {
      rule: 'self.all(p, self.exists_one(q, q.name == p.name))',
      message: 'spec.pools[*].name must be unique',
      holds: (pools) => new Set(pools.map((p) => p.name)).size === pools.length,
    },
    {
      rule: 'self.all(p, self.exists_one(q, q.priority == p.priority))',
      message: 'spec.pools[*].priority must be unique',
      holds: (pools) => new Set(pools.map((p) => p.priority)).size === pools.length,
    },
  ],
);

export const FailoverSchema = z
  .object({
    strategy: z
      .enum(FAILOVER_STRATEGIES)
      .default('Priority')
      .meta({ description: 'Priority: all miners on the best available pool. Weighted: miners spread over available pools by weight.' }),
    failbackAfterSeconds: z
      .int()
      .min(0)
      .max(86400)
      .default(300)
      .meta({ description: 'Seconds a preferred pool must stay healthy before the fleet moves back to it (no flapping).' }),
  })
  .meta({ description: 'How the fleet chooses its active pool.' });

export const TolerationSchema = withCel(
  z
    .object({
      key: z.string().max(LABEL_KEY_MAX).optional().meta({ description: 'Taint key (a qualified name); empty with operator Exists matches all taints.' }),
      operator: z.enum(['Exists', 'Equal']).default('Equal').meta({ description: 'Exists or Equal.' }),
      value: labelValue('Taint value to match (operator Equal).').optional(),
      effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().meta({ description: 'Taint effect to match; empty matches all.' }),
      tolerationSeconds: z.int().min(0).optional().meta({ description: 'How long a NoExecute taint is tolerated.', format: 'int64' }),
    })
    .meta({ description: 'A toleration, as in a Pod spec.' }),
  [
    {
      rule: "self.operator != 'Exists' || !has(self.value) || self.value == ''",
      message: 'spec.placement.tolerations[*].value must be empty when operator is Exists',
      fieldPath: '.value',
      reason: 'FieldValueForbidden',
      holds: (t) => t.operator !== 'Exists' || t.value === undefined || t.value === '',
    },
    {
      rule: `!has(self.key) || self.key == '' || (self.key.matches(${celPattern(LABEL_KEY_PATTERN)}) && (!self.key.contains('/') || self.key.indexOf('/') <= 253))`,
      message:
        "spec.placement.tolerations[*].key must be empty or a qualified name (an optional DNS subdomain prefix and '/', then at most 63 alphanumerics, '-', '_' or '.')",
      fieldPath: '.key',
      holds: (t) => t.key === undefined || t.key === '' || isQualifiedName(t.key),
    },
    {
      rule: "(has(self.key) && self.key != '') || self.operator == 'Exists'",
      message: 'spec.placement.tolerations[*].operator must be Exists when key is empty (a toleration of every taint)',
      fieldPath: '.operator',
      holds: (t) => (t.key !== undefined && t.key !== '') || t.operator === 'Exists',
    },
    {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: 'spec.placement.tolerations[*].effect must be NoExecute when tolerationSeconds is set',
      fieldPath: '.effect',
      holds: (t) => t.tolerationSeconds === undefined || t.effect === 'NoExecute',
    },
  ],
);

export const PlacementSchema = z
  .object({
    nodeSelector: labelMap('Node labels the miner pods must match, e.g. minefleet.io/usb-asic: "true".', 'spec.placement.nodeSelector').optional(),
    tolerations: z.array(TolerationSchema).max(32).optional().meta({ description: 'Tolerations of the miner pods.', 'x-kubernetes-list-type': 'atomic' }),
    affinity: AffinitySchema.optional(),
    priorityClassName: dnsSubdomainName('PriorityClass of the miner pods.').optional(),
  })
  .meta({ description: 'Where the miner pods run.' });

export const HistorySchema = z
  .object({
    enabled: z.boolean().default(true).meta({ description: 'Store samples, shares and decisions of this fleet in MongoDB.' }),
    retentionDays: z
      .int()
      .min(1)
      .max(3650)
      .default(30)
      .meta({ description: 'Days of history to keep (samples, rollups and shares of this fleet expire after it).' }),
    shares: z
      .enum(['none', 'rejected', 'all'])
      .default('all')
      .meta({ description: 'Per-share records to keep: none, only rejected/stale ones, or all (per-window counts are kept in every case).' }),
  })
  .meta({ description: 'History kept in MongoDB for reports.' });

export const FleetNetworkPolicySchema = z
  .object({
    enabled: z.boolean().default(true).meta({
      description:
        "Render a NetworkPolicy for the miner pods: ingress only to the metrics port from the operator's pods and Prometheus; egress only to DNS, the API server and the ports of the fleet's pools (their spec.egressCIDRs when set). Set false to opt out; the operator then deletes the one it made.",
    }),
  })
  .meta({ description: 'Network containment of the miner pods.' });

export const MinerFleetSpecSchema = withCel(
  z
    .object({
      replicas: z.int().min(0).max(10000).default(1).meta({
        description:
          'Number of miner pods (kubectl scale changes it). Network fleets: 0 or 1, off or on; they run ceil(targets / device.network.targetsPerPod) supervisor pods.',
      }),
      device: DeviceSchema.prefault({}),
      miner: MinerSchema.prefault({}),
      pools: FleetPoolsSchema,
      failover: FailoverSchema.prefault({}),
      economics: EconomicsSchema.optional(),
      placement: PlacementSchema.optional(),
      history: HistorySchema.optional(),
      networkPolicy: FleetNetworkPolicySchema.prefault({}),
      paused: z.boolean().default(false).meta({
        description:
          'Stop mining by hand: the miners are scaled to 0 while config, RBAC and Service stay in place (network fleets: the supervisor keeps running and disables every device); set false to resume. Independent of economic suspension (status.suspended).',
      }),
    })
    .meta({ description: 'Desired state of a MinerFleet: how many miners, on which devices and pools, and when mining stops paying.' }),
  [
    {
      rule: 'self.miner.backend == self.device.kind',
      message: 'spec.miner.backend must match spec.device.kind',
      fieldPath: '.miner.backend',
      holds: (s) => s.miner.backend === s.device.kind,
    },
    {
      rule: "!has(self.miner.threads) || self.miner.backend == 'cpu'",
      message: 'spec.miner.threads is only allowed with spec.miner.backend cpu',
      fieldPath: '.miner.threads',
      reason: 'FieldValueForbidden',
      holds: (s) => s.miner.threads === undefined || s.miner.backend === 'cpu',
    },
    {
      rule: "!has(self.miner.external) || self.device.kind == 'gpu' || self.device.kind == 'usb'",
      message: 'spec.miner.external is only allowed when spec.device.kind is gpu or usb (network ASICs run their own firmware)',
      fieldPath: '.miner.external',
      reason: 'FieldValueForbidden',
      holds: (s) => s.miner.external === undefined || s.device.kind === 'gpu' || s.device.kind === 'usb',
    },
    {
      rule: "self.device.kind != 'network' || self.replicas <= 1",
      message:
        'spec.replicas must be 0 or 1 when spec.device.kind is network (it switches the supervisors off or on; their number follows the targets: ceil(targets / spec.device.network.targetsPerPod), each pod driving its own devices)',
      fieldPath: '.replicas',
      holds: (s) => s.device.kind !== 'network' || s.replicas <= 1,
    },
  ],
);
export type MinerFleetSpec = z.output<typeof MinerFleetSpecSchema>;
export type MinerFleetSpecInput = z.input<typeof MinerFleetSpecSchema>;

export const SharesSchema = z
  .object({
    accepted: z.int().min(0).default(0).meta({ description: 'Shares the pools accepted.', format: 'int64' }),
    rejected: z.int().min(0).default(0).meta({ description: 'Shares the pools rejected.', format: 'int64' }),
    stale: z.int().min(0).default(0).meta({ description: 'Shares rejected as stale.', format: 'int64' }),
  })
  .meta({ description: 'Share counters summed over the fleet.' });

export const ProfitabilitySchema = z
  .object({
    revenuePerDay: z.number().optional().meta({ description: 'Estimated revenue per day at the current hashrate, in currency.' }),
    costPerDay: z.number().optional().meta({ description: 'Electricity cost per day, in currency.' }),
    marginPercent: z.number().optional().meta({ description: '(revenue - cost) / cost x 100.' }),
    currency: z.string().max(3).optional().meta({ description: 'Currency of revenue and cost.' }),
    evaluatedAt: timestamp('When profitability was last evaluated.').optional(),
    belowThresholdSince: timestamp('Since when the margin is below minMarginPercent.').optional(),
    aboveThresholdSince: timestamp('Since when the margin is above resumeMarginPercent.').optional(),
    hashratePerMiner: z
      .number()
      .min(0)
      .optional()
      .meta({ description: 'Last measured hashrate per running miner (H/s); revenue while suspended or paused is estimated from it times spec.replicas.' }),
    wattsPerMiner: z
      .number()
      .min(0)
      .optional()
      .meta({ description: 'Power per miner (W) used for the cost: spec.economics.power.wattsPerMiner, or the last measured value.' }),
    staleFeeds: z
      .array(z.string().max(64).meta({ description: 'A feed as <coin>.<feed>.' }))
      .max(16)
      .optional()
      .meta({ description: 'Feeds that are stale or malformed, e.g. LTC.price.', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: 'Result of the last economics evaluation.' });

export const MinerFleetStatusSchema = z
  .object({
    replicas: z.int().min(0).optional().meta({ description: 'Miner pods that exist.' }),
    readyReplicas: z.int().min(0).optional().meta({ description: 'Miner pods that are ready.' }),
    activePool: z.string().max(253).optional().meta({ description: 'MiningPool the fleet currently mines on.' }),
    lastPoolSwitchTime: timestamp('When the active pool last changed.').optional(),
    poolAssignments: z
      .array(
        z
          .object({
            pool: z.string().max(253).meta({ description: 'MiningPool name.' }),
            miners: z.int().min(0).meta({ description: 'Miner pods the failover decision puts on this pool.' }),
          })
          .meta({ description: 'Miners assigned to one pool.' }),
      )
      .max(16)
      .optional()
      .meta({
        description: 'Miners per pool as decided by spec.failover (Weighted spreads them by pools[].weight).',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['pool'],
      }),
    hashrate: z.number().min(0).optional().meta({ description: 'Fleet hashrate in hashes per second.' }),
    shares: SharesSchema.optional(),
    profitability: ProfitabilitySchema.optional(),
    suspended: z
      .boolean()
      .optional()
      .meta({ description: 'True while the fleet is scaled to 0 (network fleets: its devices disabled) because mining does not pay.' }),
    devices: z.int().min(0).optional().meta({
      description:
        'External devices the supervisors drive: the network targets (inline or from targetsFrom, spread over the supervisor pods), or one per pod with spec.miner.external.',
    }),
    suspendedSince: timestamp('When the fleet was last suspended or resumed.').optional(),
    conditions: ConditionsSchema.optional(),
    observedGeneration: z.int().min(0).optional().meta({ description: 'metadata.generation this status was computed from.', format: 'int64' }),
    selector: z.string().min(1).max(4096).optional().meta({ description: 'Label selector of the miner pods (for the scale subresource); never empty.' }),
  })
  .meta({ description: 'Observed state of a MinerFleet, written by the operator.' });
export type MinerFleetStatus = z.output<typeof MinerFleetStatusSchema>;

/** Rules on the whole object (CEL at the CRD root may only read metadata.name/generateName). */
export const MINER_FLEET_OBJECT_RULES: Array<CrossFieldRule<{ metadata?: { name?: string } }>> = [
  {
    rule: `!has(self.metadata.name) || size(self.metadata.name) <= ${MAX_FLEET_NAME_LENGTH}`,
    message: `metadata.name of a MinerFleet must be at most ${MAX_FLEET_NAME_LENGTH} characters (it prefixes the names and labels of the objects it owns)`,
    holds: (o) => o.metadata?.name === undefined || o.metadata.name.length <= MAX_FLEET_NAME_LENGTH,
  },
];

export interface MinerFleet {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: MinerFleetSpec;
  status?: MinerFleetStatus;
}
