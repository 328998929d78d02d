import { z } from 'zod';

/** RFC 1123 subdomain: names of Secrets, MiningPools, MinerFleets. */
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** Keys of a Secret's data. */
export const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';
/** A resource quantity (`500m`, `2Gi`, `1`), as in core/v1. */
export const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
/** Extended resource names such as `nvidia.com/gpu` or `example.com/usb-asic`. */
export const RESOURCE_NAME_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$';

/** A qualified name as label keys are: optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export const LABEL_KEY_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A label value: empty, or up to 63 alphanumerics with `-`, `_`, `.` inside. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';

export const labelKey = (description: string) => z.string().min(1).max(317).regex(new RegExp(LABEL_KEY_PATTERN)).meta({ description });
export const labelValue = (description: string) => z.string().max(63).regex(new RegExp(LABEL_VALUE_PATTERN)).meta({ description });

export const dnsSubdomainName = (description: string) => z.string().min(1).max(253).regex(new RegExp(DNS_SUBDOMAIN_PATTERN)).meta({ description });

export const secretKey = (description: string) => z.string().min(1).max(253).regex(new RegExp(SECRET_KEY_PATTERN)).meta({ description });

/** An int-or-string resource quantity, as `resources.requests` values in core/v1. */
export const QuantitySchema = z.union([z.int().min(0), z.string().max(64).regex(new RegExp(QUANTITY_PATTERN))]).meta({
  description: 'A resource quantity, e.g. "500m", "2", "1Gi".',
  'x-kubernetes-int-or-string': true,
  pattern: QUANTITY_PATTERN,
});
export type Quantity = z.output<typeof QuantitySchema>;

/** A key in a Secret in the same namespace. */
export const SecretKeySelectorSchema = z
  .object({
    name: dnsSubdomainName('Name of a Secret in the same namespace.'),
    key: secretKey('Key in the Secret.'),
  })
  .meta({ description: 'A key of a Secret in the same namespace.' });

/** metav1.Condition's reason: CamelCase, as the API server's own validation of conditions demands. */
export const CONDITION_REASON_PATTERN = '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$';

/** A metav1.Condition, with the same required fields and limits as the Kubernetes type. */
export const ConditionSchema = z
  .object({
    type: z.string().min(1).max(316).meta({ description: 'Type of condition in CamelCase, e.g. Available or Ready.' }),
    status: z.enum(['True', 'False', 'Unknown']).meta({ description: 'Status of the condition: True, False or Unknown.' }),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(new RegExp(CONDITION_REASON_PATTERN))
      .meta({ description: 'Machine-readable CamelCase reason for the last transition.' }),
    message: z.string().max(32768).meta({ description: 'Human-readable details about the last transition (may be empty).' }),
    lastTransitionTime: z.iso.datetime({ offset: true }).meta({ description: 'When the condition last changed status (RFC 3339).' }),
    observedGeneration: z.int().min(0).optional().meta({ description: 'metadata.generation the condition was computed from.', format: 'int64' }),
  })
  .meta({ description: 'A standard Kubernetes condition.' });
export type Condition = z.output<typeof ConditionSchema>;

export const ConditionsSchema = z
  .array(ConditionSchema)
  .max(16)
  .meta({
    description: 'Current state as standard conditions, one per type.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });

/** RFC 3339 timestamp as written by the operator. */
export const timestamp = (description: string) => z.iso.datetime({ offset: true }).meta({ description });

/**
 * In-process twin of `x-kubernetes-list-type: set`: the API server rejects repeated items itself
 * (`Duplicate value`), zod needs the rule spelled out.
 */
export function uniqueItems<T extends z.ZodArray<z.ZodType>>(schema: T, fieldPath: string): T {
  return schema.superRefine((items, ctx) => {
    const seen = new Set<unknown>();
    (items as unknown[]).forEach((item, i) => {
      if (seen.has(item)) ctx.addIssue({ code: 'custom', message: `Duplicate value ${JSON.stringify(item)}: ${fieldPath} must not repeat an item`, path: [i] });
      seen.add(item);
    });
  });
}
