import { z } from 'zod';

/** A node of a CRD's openAPIV3Schema (the subset minefleet emits). */
export type JSONSchemaProps = Record<string, unknown>;

const SAFE_INT = Number.MAX_SAFE_INTEGER;

/** Keys Kubernetes' JSONSchemaProps knows; anything else zod emits is dropped or rejected. */
const ALLOWED_KEYS = new Set([
  'type',
  'format',
  'description',
  'default',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'anyOf',
  'nullable',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
]);

/** zod emits these for its own bookkeeping; they carry nothing Kubernetes needs. */
const DROPPED_KEYS = new Set(['$schema', 'propertyNames', 'id', 'title', 'examples']);

/**
 * Turn one node of zod's OpenAPI 3.0 output into a Kubernetes structural schema node:
 * int-or-string unions become `x-kubernetes-int-or-string`, zod's safe-integer bounds and
 * `additionalProperties: false` go (Kubernetes prunes unknown fields itself), free-form objects
 * keep only `x-kubernetes-preserve-unknown-fields`, string formats drop zod's regex twin.
 */
function toStructuralNode(node: JSONSchemaProps, path: string): JSONSchemaProps {
  const n: JSONSchemaProps = { ...node };
  for (const k of DROPPED_KEYS) delete n[k];

  if (n['x-kubernetes-int-or-string'] === true) {
    const out: JSONSchemaProps = {};
    if (n.description !== undefined) out.description = n.description;
    if (n.default !== undefined) out.default = n.default;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    if (n.pattern !== undefined) out.pattern = n.pattern;
    out['x-kubernetes-int-or-string'] = true;
    if (n['x-kubernetes-validations'] !== undefined) out['x-kubernetes-validations'] = n['x-kubernetes-validations'];
    return out;
  }

  if (n['x-kubernetes-preserve-unknown-fields'] === true) {
    delete n.additionalProperties;
    delete n.properties;
    if (n.type === undefined) n.type = 'object';
  }

  if (n.type === 'integer') {
    if (n.minimum === -SAFE_INT) delete n.minimum;
    if (n.maximum === SAFE_INT) delete n.maximum;
  }
  if (n.type === 'string' && n.format === 'date-time') delete n.pattern;
  // zod copies RegExp.source, where JavaScript escapes '/'; RE2 needs no escape there.
  if (typeof n.pattern === 'string') n.pattern = n.pattern.replace(/(?<!\\)\\\//g, '/');
  if (n.additionalProperties === false) delete n.additionalProperties;
  if (Array.isArray(n.required) && n.required.length === 0) delete n.required;

  if (n.properties !== undefined) {
    const props = n.properties as Record<string, JSONSchemaProps>;
    n.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toStructuralNode(v, `${path}.${k}`)]));
  }
  if (n.additionalProperties !== undefined && typeof n.additionalProperties === 'object') {
    n.additionalProperties = toStructuralNode(n.additionalProperties as JSONSchemaProps, `${path}[*]`);
  }
  if (n.items !== undefined) {
    if (Array.isArray(n.items)) throw new Error(`${path}: tuple schemas are not structural`);
    n.items = toStructuralNode(n.items as JSONSchemaProps, `${path}[*]`);
  }

  if (n.default !== undefined) n.default = materializeDefault(n, n.default);

  for (const k of Object.keys(n)) {
    if (!ALLOWED_KEYS.has(k)) throw new Error(`${path}: JSON schema key ${k} has no Kubernetes equivalent`);
  }
  return orderKeys(n);
}

/**
 * Kubernetes validates a `default` as written (CEL rules included) without defaulting inside it,
 * so an object default such as `{}` is expanded with the defaults of its properties.
 */
function materializeDefault(node: JSONSchemaProps, value: unknown): unknown {
  if (node.type !== 'object' || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const props = node.properties as Record<string, JSONSchemaProps> | undefined;
  if (!props) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [k, child] of Object.entries(props)) {
    if (out[k] === undefined && child.default !== undefined) out[k] = child.default;
    else if (out[k] !== undefined) out[k] = materializeDefault(child, out[k]);
  }
  return out;
}

/** Stable, readable key order in the generated YAML. */
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'default',
  'enum',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'items',
  'additionalProperties',
  'required',
  'properties',
  'x-kubernetes-validations',
];
function orderKeys(n: JSONSchemaProps): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const k of KEY_ORDER) if (n[k] !== undefined) out[k] = n[k];
  for (const k of Object.keys(n).sort()) if (!(k in out)) out[k] = n[k];
  return out;
}

/**
 * Check the rules of a structural schema (apiextensions.k8s.io/v1): every node has a type unless
 * it is int-or-string or preserve-unknown-fields; `anyOf` only in the int-or-string form; no
 * `$ref`; `properties` and `additionalProperties` never together. Throws naming the bad node.
 */
export function assertStructural(node: JSONSchemaProps, path = ''): void {
  if ('$ref' in node) throw new Error(`${path || '.'}: $ref is not allowed in a structural schema`);
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === undefined && !intOrString && !preserve) throw new Error(`${path || '.'}: every node needs a type`);
  if (node.anyOf !== undefined || node.oneOf !== undefined || node.allOf !== undefined || node.not !== undefined) {
    const branches = node.anyOf as JSONSchemaProps[] | undefined;
    const isIntOrStringForm =
      intOrString &&
      node.oneOf === undefined &&
      node.allOf === undefined &&
      Array.isArray(branches) &&
      branches.every((b) => Object.keys(b).length === 1 && (b.type === 'integer' || b.type === 'string'));
    if (!isIntOrStringForm) throw new Error(`${path || '.'}: anyOf/oneOf/allOf/not are only generated for int-or-string`);
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    throw new Error(`${path || '.'}: properties and additionalProperties are mutually exclusive`);
  }
  if (node.type === 'array' && node.items === undefined) throw new Error(`${path || '.'}: array without items`);
  for (const [k, v] of Object.entries((node.properties as Record<string, JSONSchemaProps> | undefined) ?? {})) {
    assertStructural(v, `${path}.${k}`);
  }
  if (typeof node.additionalProperties === 'object') assertStructural(node.additionalProperties as JSONSchemaProps, `${path}[*]`);
  if (typeof node.items === 'object') assertStructural(node.items as JSONSchemaProps, `${path}[*]`);
}

/**
 * zod schema → Kubernetes structural OpenAPI v3 schema. Uses zod's input view (fields with a
 * default are optional, defaults are emitted), inlines every reused schema (no `$ref`), and
 * carries `.meta()` keys such as descriptions and `x-kubernetes-validations` through.
 */
export function zodToStructural(schema: z.ZodType, path = ''): JSONSchemaProps {
  const raw = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    reused: 'inline',
    cycles: 'throw',
    unrepresentable: 'throw',
  }) as JSONSchemaProps;
  const out = toStructuralNode(raw, path);
  assertStructural(out, path);
  return out;
}
