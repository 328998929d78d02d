import { z } from 'zod';
import { LABEL_KEY_PATTERN, labelKey, labelValue } from './common.js';

/**
 * core/v1 Affinity, field for field as in the Kubernetes OpenAPI definitions
 * (io.k8s.api.core.v1.Affinity and the types it nests), so the API server checks a fleet's
 * affinity when the fleet is created instead of when its Deployment is applied. The enums are the
 * operators the scheduler knows; weights are 1–100 as the API server's pod validation demands.
 */

const NodeSelectorRequirementSchema = z
  .object({
    key: z.string().min(1).max(317).regex(new RegExp(LABEL_KEY_PATTERN)).meta({ description: 'The label key the selector applies to.' }),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']).meta({ description: 'In, NotIn, Exists, DoesNotExist, Gt or Lt.' }),
    values: z
      .array(z.string().max(63).meta({ description: 'A value.' }))
      .max(64)
      .optional()
      .meta({ description: 'Values for In/NotIn; a single integer for Gt/Lt; empty for Exists/DoesNotExist.', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: 'A node selector requirement (core/v1 NodeSelectorRequirement).' });

const NodeSelectorTermSchema = z
  .object({
    matchExpressions: z
      .array(NodeSelectorRequirementSchema)
      .max(32)
      .optional()
      .meta({ description: 'Requirements by node labels.', 'x-kubernetes-list-type': 'atomic' }),
    matchFields: z
      .array(NodeSelectorRequirementSchema)
      .max(32)
      .optional()
      .meta({ description: 'Requirements by node fields.', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: 'A node selector term (core/v1 NodeSelectorTerm); its requirements are ANDed.' });

const LabelSelectorRequirementSchema = z
  .object({
    key: labelKey('The label key the selector applies to.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).meta({ description: 'In, NotIn, Exists or DoesNotExist.' }),
    values: z
      .array(labelValue('A label value.'))
      .max(64)
      .optional()
      .meta({ description: 'Values for In/NotIn; empty for Exists/DoesNotExist.', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: 'A label selector requirement (meta/v1 LabelSelectorRequirement).' });

const LabelSelectorSchema = z
  .object({
    matchLabels: z.record(labelKey('Label key.'), labelValue('Label value.')).optional().meta({ description: 'Labels that must all match.' }),
    matchExpressions: z
      .array(LabelSelectorRequirementSchema)
      .max(32)
      .optional()
      .meta({ description: 'Requirements that must all match.', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: 'A label selector (meta/v1 LabelSelector).' });

const weight = z.int().min(1).max(100).meta({ description: 'Weight 1–100 added to a node that matches.', format: 'int32' });

const PodAffinityTermSchema = z
  .object({
    labelSelector: LabelSelectorSchema.optional(),
    namespaceSelector: LabelSelectorSchema.optional(),
    namespaces: z
      .array(
        z
          .string()
          .min(1)
          .max(63)
          .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
          .meta({ description: 'A namespace name.' }),
      )
      .max(64)
      .optional()
      .meta({ description: 'Namespaces the term applies to.', 'x-kubernetes-list-type': 'atomic' }),
    topologyKey: labelKey('Node label key whose value defines the topology domain, e.g. kubernetes.io/hostname.'),
    matchLabelKeys: z
      .array(labelKey('Pod label key.'))
      .max(32)
      .optional()
      .meta({ description: 'Pod label keys whose values are merged into labelSelector.', 'x-kubernetes-list-type': 'atomic' }),
    mismatchLabelKeys: z
      .array(labelKey('Pod label key.'))
      .max(32)
      .optional()
      .meta({ description: 'Pod label keys whose values must differ.', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: 'A pod affinity term (core/v1 PodAffinityTerm).' });

const WeightedPodAffinityTermSchema = z
  .object({ weight, podAffinityTerm: PodAffinityTermSchema })
  .meta({ description: 'A weighted pod affinity term (core/v1 WeightedPodAffinityTerm).' });

const PodAffinitySchema = z
  .object({
    requiredDuringSchedulingIgnoredDuringExecution: z
      .array(PodAffinityTermSchema)
      .max(32)
      .optional()
      .meta({ description: 'Terms that must hold when the pod is scheduled.', 'x-kubernetes-list-type': 'atomic' }),
    preferredDuringSchedulingIgnoredDuringExecution: z
      .array(WeightedPodAffinityTermSchema)
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
            nodeSelectorTerms: z.array(NodeSelectorTermSchema).min(1).max(32).meta({ description: 'Terms that are ORed.', 'x-kubernetes-list-type': 'atomic' }),
          })
          .optional()
          .meta({ description: 'Node selector that must match when the pod is scheduled (core/v1 NodeSelector).' }),
        preferredDuringSchedulingIgnoredDuringExecution: z
          .array(
            z.object({ weight, preference: NodeSelectorTermSchema }).meta({ description: 'A preferred scheduling term (core/v1 PreferredSchedulingTerm).' }),
          )
          .max(32)
          .optional()
          .meta({ description: 'Node selector terms the scheduler prefers.', 'x-kubernetes-list-type': 'atomic' }),
      })
      .optional()
      .meta({ description: 'Node affinity (core/v1 NodeAffinity).' }),
    podAffinity: PodAffinitySchema.optional(),
    podAntiAffinity: PodAffinitySchema.optional(),
  })
  .meta({ description: 'Affinity of the miner pods (core/v1 Affinity).' });
export type Affinity = z.output<typeof AffinitySchema>;
