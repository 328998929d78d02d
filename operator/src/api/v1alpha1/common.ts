import { z } from 'zod';
import { dnsSubdomainName, secretKey } from './validators.js';

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
