/**
 * The chart's values as a zod schema: the single source of helm/minefleet/values.schema.json
 * (written by `npm run gen:crds`, checked for staleness by test/helm/values-schema.test.ts), so
 * that a mistyped value fails `helm install` with the field named.
 * Known keys are typed; objects passed through to Kubernetes (resources, affinity, security
 * contexts) are checked only as objects, and unknown top-level keys are allowed so that a chart
 * upgrade with an old values file still renders.
 */
import { z } from 'zod';

const port = z.int().min(1).max(65535);
const posInt = z.int().min(1);
const obj = z.record(z.string(), z.unknown());
const strMap = z.record(z.string(), z.string());
/** matchLabels: label keys and values as Kubernetes allows them (the operator refuses others at start). */
const labelMap = z.record(
  z.string().regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'a label key'),
  z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, 'a label value'),
);
/** TCP ports, narrowed to CIDRs when any are given. */
const egressTarget = z.object({
  cidrs: z.array(z.string().regex(/^([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}$|^[0-9a-fA-F:]+\/[0-9]{1,3}$/, 'a CIDR such as 10.0.0.0/8')),
  ports: z.array(port),
});
const pullPolicy = z.enum(['Always', 'IfNotPresent', 'Never']);
const duration = z.string().regex(/^([0-9]+(ms|s|m|h))+$/, 'a Prometheus duration such as 30s or 5m');

const image = z.object({
  repository: z.string().min(1),
  tag: z.string(),
  digest: z.union([z.literal(''), z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>')]),
  pullPolicy,
});

export const ChartValuesSchema = z.looseObject({
  nameOverride: z.string(),
  fullnameOverride: z.string(),
  image,
  imagePullSecrets: z.array(z.object({ name: z.string().min(1) })),
  minerImage: z.object({
    repository: z.string(),
    tag: z.string(),
    digest: image.shape.digest,
    pullPolicy: z.union([z.literal(''), pullPolicy]),
  }),
  watchNamespaces: z.array(z.string().min(1)),
  replicaCount: z.int().min(0),
  podDisruptionBudget: z.object({
    enabled: z.boolean(),
    minAvailable: z.union([z.int().min(0), z.string().regex(/^(100|[1-9]?[0-9])%$/)]),
  }),
  leaderElection: z.object({
    enabled: z.boolean(),
    leaseName: z.string().min(1),
    leaseDurationSeconds: posInt,
    renewDeadlineSeconds: posInt,
    retryPeriodSeconds: posInt,
  }),
  concurrency: posInt,
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  resyncPeriodSeconds: z.int().min(0),
  requireTLS: z.boolean(),
  metrics: z.looseObject({ port }),
  probes: z.looseObject({ port }),
  history: z.object({
    mongodb: z.object({
      uriSecretRef: z.object({ name: z.union([z.literal(''), z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Secret name')]), key: z.string().min(1) }),
      database: z.string().min(1),
    }),
    spill: z.object({ sizeLimit: z.string().regex(/^[0-9]+(Ki|Mi|Gi|Ti)?$/, 'a quantity such as 1Gi') }),
    collector: z.object({ intervalSeconds: z.int().min(1).max(3600), windowSeconds: z.int().min(1).max(86_400) }),
  }),
  networkPolicy: z.object({
    miners: z.object({ prometheus: z.object({ podSelector: labelMap, namespaceSelector: labelMap }) }),
    operator: z.object({
      enabled: z.boolean(),
      metricsFrom: z.array(obj),
      probesFrom: z.array(obj),
      minerMetricsPort: port,
      apiServer: egressTarget,
      mongodb: egressTarget,
      pools: egressTarget,
      priceFeeds: egressTarget,
    }),
  }),
  extraEnv: z.array(obj),
  serviceAccount: z.looseObject({ create: z.boolean(), name: z.string(), annotations: strMap }),
  rbac: z.looseObject({ create: z.boolean() }),
  podAnnotations: strMap,
  podLabels: strMap,
  podSecurityContext: obj,
  securityContext: obj,
  resources: obj,
  maxOldSpaceMiB: z.int().min(0).max(65536),
  maxSemiSpaceMiB: z.int().min(0).max(1024),
  livenessProbe: obj,
  readinessProbe: obj,
  terminationGracePeriodSeconds: z.int().min(0),
  nodeSelector: strMap,
  tolerations: z.array(obj),
  affinity: obj,
  priorityClassName: z.string(),
  service: z.looseObject({ type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']), port, annotations: strMap }),
  serviceMonitor: z.looseObject({ enabled: z.boolean(), interval: duration, scrapeTimeout: duration, labels: strMap }),
  minerPodMonitor: z.looseObject({ enabled: z.boolean(), interval: duration, labels: strMap }),
  prometheusRule: z.looseObject({ enabled: z.boolean(), labels: strMap, for: z.record(z.string(), duration), thresholds: obj, extraRules: z.array(obj) }),
  grafanaDashboards: z.looseObject({ enabled: z.boolean(), label: z.string().min(1), labelValue: z.string(), namespace: z.string() }),
});

/** values.schema.json text (JSON Schema draft-07, what Helm validates with). */
export function renderValuesSchema(): string {
  const schema = z.toJSONSchema(ChartValuesSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return `${JSON.stringify({ ...schema, title: 'minefleet chart values' }, null, 2)}\n`;
}
