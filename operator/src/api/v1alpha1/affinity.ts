import { z } from 'zod';
import { withCel } from './cel.js';
import { dnsLabel, dnsSubdomainName, labelKey, labelMap, labelValue } from './validators.js';

/**
 * core/v1 Affinity, field for field as in the Kubernetes OpenAPI definitions
 * (io.k8s.api.core.v1.Affinity and the types it nests), so the API server checks a fleet's
 * affinity when the fleet is created instead of when its Deployment is applied. The enums are the
 * operators the scheduler knows; weights are 1–100, keys qualified names, operator/values pairs and
 * matchLabelKeys as the API server's pod validation (ValidateNodeSelectorRequirement,
 * ValidateLabelSelector, validatePodAffinityTerm) demands.
 *
 * Each builder takes the full path of the node it builds, so every rule's message names its field
 * (the same type sits under several paths: podAffinity and podAntiAffinity, required and preferred).
 */

const BASE = 'spec.placement.affinity';

type Requirement = { operator: string; values?: string[] | undefined };
const hasValues = (r: Requirement) => (r.values?.length ?? 0) > 0;

/** The operator/values rules both selector requirement kinds share. */
const setOperatorRules = (path: string) => [
  {
    rule: "!(self.operator == 'In' || self.operator == 'NotIn') || (has(self.values) && size(self.values) > 0)",
    message: `${path}.values must be non-empty when operator is In or NotIn`,
    fieldPath: '.values',
    reason: 'FieldValueRequired' as const,
    holds: (r: Requirement) => !(r.operator === 'In' || r.operator === 'NotIn') || hasValues(r),
  },
  {
    rule: "!(self.operator == 'Exists' || self.operator == 'DoesNotExist') || !has(self.values) || size(self.values) == 0",
    message: `${path}.values must be empty when operator is Exists or DoesNotExist`,
    fieldPath: '.values',
    reason: 'FieldValueForbidden' as const,
    holds: (r: Requirement) => !(r.operator === 'Exists' || r.operator === 'DoesNotExist') || !hasValues(r),
  },
];

const INTEGER_VALUE = '^-?[0-9]{1,18}$';

const nodeSelectorRequirement = (path: string) =>
  withCel(
    z
      .object({
        key: labelKey('The label key the selector applies to.', `${path}.key`),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']).meta({ description: 'In, NotIn, Exists, DoesNotExist, Gt or Lt.' }),
        values: z
          .array(labelValue('A value.'))
          .max(64)
          .optional()
          .meta({ description: 'Values for In/NotIn; a single integer for Gt/Lt; empty for Exists/DoesNotExist.', 'x-kubernetes-list-type': 'atomic' }),
      })
      .meta({ description: 'A node selector requirement (core/v1 NodeSelectorRequirement).' }),
    [
      ...setOperatorRules(path),
      {
        rule: `!(self.operator == 'Gt' || self.operator == 'Lt') || (has(self.values) && size(self.values) == 1 && self.values[0].matches('${INTEGER_VALUE}'))`,
        message: `${path}.values must be a single integer when operator is Gt or Lt`,
        fieldPath: '.values',
        holds: (r) => !(r.operator === 'Gt' || r.operator === 'Lt') || (r.values?.length === 1 && new RegExp(INTEGER_VALUE).test(r.values[0]!)),
      },
    ],
  );

/** matchFields: the only node field a selector may name is metadata.name, with exactly one value. */
// values stays optional in the schema, as in core/v1 (a client that omits it gets the CEL
// message, not a missing-field error); the rule requires exactly one.
const nodeFieldSelectorRequirement = (path: string) =>
  withCel(
    z
      .object({
        key: z.enum(['metadata.name']).meta({ description: 'The node field: metadata.name.' }),
        operator: z.enum(['In', 'NotIn']).meta({ description: 'In or NotIn.' }),
        values: z.array(dnsSubdomainName('A node name.')).max(1).optional().meta({ description: 'Exactly one node name.', 'x-kubernetes-list-type': 'atomic' }),
      })
      .meta({ description: 'A node field selector requirement (core/v1 NodeSelectorRequirement on node fields).' }),
    [
      {
        rule: 'has(self.values) && size(self.values) == 1',
        message: `${path}.values must hold exactly one node name`,
        fieldPath: '.values',
        reason: 'FieldValueRequired' as const,
        holds: (r) => r.values?.length === 1,
      },
    ],
  );

const nodeSelectorTerm = (path: string) =>
  z
    .object({
      matchExpressions: z
        .array(nodeSelectorRequirement(`${path}.matchExpressions[*]`))
        .max(32)
        .optional()
        .meta({ description: 'Requirements by node labels.', 'x-kubernetes-list-type': 'atomic' }),
      matchFields: z
        .array(nodeFieldSelectorRequirement(`${path}.matchFields[*]`))
        .max(32)
        .optional()
        .meta({ description: 'Requirements by node fields.', 'x-kubernetes-list-type': 'atomic' }),
    })
    .meta({ description: 'A node selector term (core/v1 NodeSelectorTerm); its requirements are ANDed.' });

const labelSelectorRequirement = (path: string) =>
  withCel(
    z
      .object({
        key: labelKey('The label key the selector applies to.', `${path}.key`),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).meta({ description: 'In, NotIn, Exists or DoesNotExist.' }),
        values: z
          .array(labelValue('A label value.'))
          .max(64)
          .optional()
          .meta({ description: 'Values for In/NotIn; empty for Exists/DoesNotExist.', 'x-kubernetes-list-type': 'atomic' }),
      })
      .meta({ description: 'A label selector requirement (meta/v1 LabelSelectorRequirement).' }),
    setOperatorRules(path),
  );

const labelSelector = (path: string) =>
  z
    .object({
      matchLabels: labelMap('Labels that must all match.', `${path}.matchLabels`).optional(),
      matchExpressions: z
        .array(labelSelectorRequirement(`${path}.matchExpressions[*]`))
        .max(32)
        .optional()
        .meta({ description: 'Requirements that must all match.', 'x-kubernetes-list-type': 'atomic' }),
    })
    .meta({ description: 'A label selector (meta/v1 LabelSelector).' });
type LabelSelector = z.output<ReturnType<typeof labelSelector>>;

const weight = z.int().min(1).max(100).meta({ description: 'Weight 1–100 added to a node that matches.', format: 'int32' });

const selectorKeys = (s: LabelSelector | undefined): string[] => [...Object.keys(s?.matchLabels ?? {}), ...(s?.matchExpressions ?? []).map((e) => e.key)];
const celInSelector = (k: string) =>
  `((has(self.labelSelector.matchLabels) && ${k} in self.labelSelector.matchLabels) || (has(self.labelSelector.matchExpressions) && self.labelSelector.matchExpressions.exists(e, e.key == ${k})))`;

const podAffinityTerm = (path: string) =>
  withCel(
    z
      .object({
        labelSelector: labelSelector(`${path}.labelSelector`).optional(),
        namespaceSelector: labelSelector(`${path}.namespaceSelector`).optional(),
        namespaces: z
          .array(dnsLabel('A namespace name.'))
          .max(64)
          .optional()
          .meta({ description: 'Namespaces the term applies to.', 'x-kubernetes-list-type': 'atomic' }),
        topologyKey: labelKey('Node label key whose value defines the topology domain, e.g. kubernetes.io/hostname.', `${path}.topologyKey`),
        matchLabelKeys: z
          .array(labelKey('Pod label key.', `${path}.matchLabelKeys[*]`))
          .max(32)
          .optional()
          .meta({ description: 'Pod label keys whose values are merged into labelSelector.', 'x-kubernetes-list-type': 'atomic' }),
        mismatchLabelKeys: z
          .array(labelKey('Pod label key.', `${path}.mismatchLabelKeys[*]`))
          .max(32)
          .optional()
          .meta({ description: 'Pod label keys whose values must differ.', 'x-kubernetes-list-type': 'atomic' }),
      })
      .meta({ description: 'A pod affinity term (core/v1 PodAffinityTerm).' }),
    [
      {
        rule: 'has(self.labelSelector) || ((!has(self.matchLabelKeys) || size(self.matchLabelKeys) == 0) && (!has(self.mismatchLabelKeys) || size(self.mismatchLabelKeys) == 0))',
        message: `${path}.matchLabelKeys and mismatchLabelKeys must not be set when labelSelector is not set`,
        fieldPath: '.labelSelector',
        reason: 'FieldValueRequired',
        holds: (t) => t.labelSelector !== undefined || ((t.matchLabelKeys?.length ?? 0) === 0 && (t.mismatchLabelKeys?.length ?? 0) === 0),
      },
      {
        rule: '!has(self.matchLabelKeys) || !has(self.mismatchLabelKeys) || self.matchLabelKeys.all(k, !(k in self.mismatchLabelKeys))',
        message: `${path}.matchLabelKeys must not repeat a key of mismatchLabelKeys`,
        fieldPath: '.matchLabelKeys',
        holds: (t) => !(t.matchLabelKeys ?? []).some((k) => (t.mismatchLabelKeys ?? []).includes(k)),
      },
      {
        rule: `!has(self.labelSelector) || ((!has(self.matchLabelKeys) || self.matchLabelKeys.all(k, !${celInSelector('k')})) && (!has(self.mismatchLabelKeys) || self.mismatchLabelKeys.all(k, !${celInSelector('k')})))`,
        message: `${path}.matchLabelKeys and mismatchLabelKeys must not name a key that labelSelector already selects on`,
        fieldPath: '.labelSelector',
        holds: (t) => {
          const keys = selectorKeys(t.labelSelector);
          return ![...(t.matchLabelKeys ?? []), ...(t.mismatchLabelKeys ?? [])].some((k) => keys.includes(k));
        },
      },
    ],
  );

const podAffinity = (path: string) =>
  z
    .object({
      requiredDuringSchedulingIgnoredDuringExecution: z
        .array(podAffinityTerm(`${path}.requiredDuringSchedulingIgnoredDuringExecution[*]`))
        .max(32)
        .optional()
        .meta({ description: 'Terms that must hold when the pod is scheduled.', 'x-kubernetes-list-type': 'atomic' }),
      preferredDuringSchedulingIgnoredDuringExecution: z
        .array(
          z
            .object({ weight, podAffinityTerm: podAffinityTerm(`${path}.preferredDuringSchedulingIgnoredDuringExecution[*].podAffinityTerm`) })
            .meta({ description: 'A weighted pod affinity term (core/v1 WeightedPodAffinityTerm).' }),
        )
        .max(32)
        .optional()
        .meta({ description: 'Terms the scheduler prefers.', 'x-kubernetes-list-type': 'atomic' }),
    })
    .meta({ description: 'Pod (anti-)affinity rules (core/v1 PodAffinity / PodAntiAffinity).' });

export const AffinitySchema = z
  .object({
    nodeAffinity: z
      .object({
        requiredDuringSchedulingIgnoredDuringExecution: z
          .object({
            nodeSelectorTerms: z
              .array(nodeSelectorTerm(`${BASE}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[*]`))
              .min(1)
              .max(32)
              .meta({ description: 'Terms that are ORed.', 'x-kubernetes-list-type': 'atomic' }),
          })
          .optional()
          .meta({ description: 'Node selector that must match when the pod is scheduled (core/v1 NodeSelector).' }),
        preferredDuringSchedulingIgnoredDuringExecution: z
          .array(
            z
              .object({ weight, preference: nodeSelectorTerm(`${BASE}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[*].preference`) })
              .meta({ description: 'A preferred scheduling term (core/v1 PreferredSchedulingTerm).' }),
          )
          .max(32)
          .optional()
          .meta({ description: 'Node selector terms the scheduler prefers.', 'x-kubernetes-list-type': 'atomic' }),
      })
      .optional()
      .meta({ description: 'Node affinity (core/v1 NodeAffinity).' }),
    podAffinity: podAffinity(`${BASE}.podAffinity`).optional(),
    podAntiAffinity: podAffinity(`${BASE}.podAntiAffinity`).optional(),
  })
  .meta({ description: 'Affinity of the miner pods (core/v1 Affinity).' });
export type Affinity = z.output<typeof AffinitySchema>;
