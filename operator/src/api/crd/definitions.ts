import { stringify } from 'yaml';
import type { z } from 'zod';
import {
  CATEGORY,
  GROUP,
  MINER_FLEET_KIND,
  MINER_FLEET_OBJECT_RULES,
  MINER_FLEET_PLURAL,
  MINER_FLEET_SHORT_NAMES,
  MINER_FLEET_SINGULAR,
  MINING_POOL_KIND,
  MINING_POOL_PLURAL,
  MINING_POOL_SHORT_NAMES,
  MINING_POOL_SINGULAR,
  MinerFleetSpecSchema,
  MinerFleetStatusSchema,
  MiningPoolSpecSchema,
  MiningPoolStatusSchema,
  VERSION,
  type CelValidation,
  type CrossFieldRule,
} from '../v1alpha1/index.js';
import { zodToStructural, type JSONSchemaProps } from './structural.js';

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export interface CrdInput {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  rootRules?: Array<CrossFieldRule<never>>;
  columns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function rootSchema(input: CrdInput): JSONSchemaProps {
  const root: JSONSchemaProps = {
    description: input.description,
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object.',
        type: 'string',
      },
      kind: { description: 'Kind is a string value representing the REST resource this object represents.', type: 'string' },
      metadata: { type: 'object' },
      spec: zodToStructural(input.spec, '.spec'),
      status: zodToStructural(input.status, '.status'),
    },
  };
  if (input.rootRules?.length) {
    root['x-kubernetes-validations'] = input.rootRules.map((r): CelValidation => ({ rule: r.rule, message: r.message }));
  }
  return root;
}

/** A complete apiextensions.k8s.io/v1 CustomResourceDefinition object. */
export function buildCrd(input: CrdInput): Record<string, unknown> {
  const subresources: Record<string, unknown> = { status: {} };
  if (input.scale) subresources.scale = input.scale;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'minefleet', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.singular,
        shortNames: [...input.shortNames],
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: rootSchema(input) },
          subresources,
          additionalPrinterColumns: [...input.columns, AGE],
        },
      ],
    },
  };
}

export function miningPoolCrd(): Record<string, unknown> {
  return buildCrd({
    kind: MINING_POOL_KIND,
    plural: MINING_POOL_PLURAL,
    singular: MINING_POOL_SINGULAR,
    shortNames: MINING_POOL_SHORT_NAMES,
    description:
      'MiningPool is a Stratum V1 pool (LTC, DOGE or merged LTC+DOGE) that MinerFleets can mine on. The operator probes it and reports availability and latency.',
    spec: MiningPoolSpecSchema,
    status: MiningPoolStatusSchema,
    columns: [
      { name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Stratum endpoint.' },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].status',
        description: 'Whether fleets may use the pool (its Ready condition).',
      },
      {
        name: 'Available',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Available")].status',
        priority: 1,
        description: 'Whether the last probes succeeded.',
      },
      { name: 'Latency', type: 'integer', jsonPath: '.status.latencyMs', description: 'Last probe handshake in milliseconds.' },
      { name: 'Circuit', type: 'string', jsonPath: '.status.circuit', priority: 1, description: 'Circuit breaker state.' },
      { name: 'Coins', type: 'string', jsonPath: '.spec.coins', priority: 1, description: 'Coins paid out.' },
    ],
  });
}

export function minerFleetCrd(): Record<string, unknown> {
  return buildCrd({
    kind: MINER_FLEET_KIND,
    plural: MINER_FLEET_PLURAL,
    singular: MINER_FLEET_SINGULAR,
    shortNames: MINER_FLEET_SHORT_NAMES,
    description:
      'MinerFleet runs a number of scrypt miner pods on CPU, GPU or USB ASIC devices (or supervises networked ASICs), points them at the best available MiningPool and suspends them while mining does not pay.',
    spec: MinerFleetSpecSchema,
    status: MinerFleetStatusSchema,
    rootRules: MINER_FLEET_OBJECT_RULES,
    columns: [
      { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas', description: 'Miner pods wanted.' },
      {
        name: 'Ready',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="Ready")].status',
        description: 'Whether the fleet is Ready (its Ready condition).',
      },
      { name: 'Miners', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Miner pods ready.' },
      { name: 'Pool', type: 'string', jsonPath: '.status.activePool', description: 'Active MiningPool.' },
      { name: 'Hashrate', type: 'number', jsonPath: '.status.hashrate', description: 'Fleet hashrate in H/s.' },
      { name: 'Margin', type: 'number', jsonPath: '.status.profitability.marginPercent', description: 'Profit margin in percent.' },
      { name: 'Suspended', type: 'boolean', jsonPath: '.status.suspended', description: 'Suspended because mining does not pay.' },
      { name: 'Device', type: 'string', jsonPath: '.spec.device.kind', priority: 1, description: 'cpu, gpu, usb or network.' },
      { name: 'Strategy', type: 'string', jsonPath: '.spec.failover.strategy', priority: 1, description: 'Failover strategy.' },
      { name: 'Devices', type: 'integer', jsonPath: '.status.devices', priority: 1, description: 'External devices the supervisors drive.' },
      { name: 'External', type: 'string', jsonPath: '.spec.miner.external.image', priority: 1, description: 'Image of the external miner (gpu/usb fleets).' },
    ],
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    },
  });
}

export const CRD_HEADER = '# Generated by `npm run gen:crds` (scripts/gen-crds.ts) from operator/src/api/v1alpha1. Do not edit by hand.\n';

export function renderCrdYaml(crd: Record<string, unknown>): string {
  return CRD_HEADER + stringify(crd, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** File name (under crds/) → YAML text, exactly what the generator writes. */
export function renderCrdFiles(): Record<string, string> {
  return {
    [`${MINING_POOL_PLURAL}.${GROUP}.yaml`]: renderCrdYaml(miningPoolCrd()),
    [`${MINER_FLEET_PLURAL}.${GROUP}.yaml`]: renderCrdYaml(minerFleetCrd()),
  };
}
