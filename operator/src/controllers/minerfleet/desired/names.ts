import { createHash } from 'node:crypto';

/**
 * Names of the objects a fleet owns. Kubernetes caps names (DNS-1123 subdomain: 253, DNS-1123 /
 * DNS-1035 label: 63) and label values (63). The CRD keeps fleet names short, but these functions
 * must never emit an invalid object, whatever the input: a name that does not fit is truncated and
 * given a hash suffix of the full name, so two long fleets that share a prefix still get distinct,
 * stable names (same input, same name, every reconcile).
 */

export const DNS1123_SUBDOMAIN_MAX = 253;
export const DNS1123_LABEL_MAX = 63;
export const LABEL_VALUE_MAX = 63;

const HASH_LEN = 8;

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_LEN);
}

/** Drop trailing characters a DNS name or label value may not end with after a cut. */
function trimEnd(s: string): string {
  return s.replace(/[^a-z0-9]+$/i, '');
}

/** `base` + `suffix`, cut to `max` with `-<hash of the uncut name>` when it does not fit. */
export function boundedName(base: string, suffix: string, max: number): string {
  const full = suffix ? `${base}-${suffix}` : base;
  if (full.length <= max) return full;
  const hash = shortHash(full);
  const tail = suffix ? `-${suffix}` : '';
  const room = max - tail.length - HASH_LEN - 1;
  return `${trimEnd(base.slice(0, Math.max(room, 1)))}-${hash}${tail}`;
}

/**
 * A DNS-1035 label (Services): lower-case alphanumerics and '-', starting with a letter, at most
 * 63. A fleet name is a DNS-1123 subdomain, so it may contain dots or start with a digit; those are
 * mapped (dots to dashes, an `mf-` prefix) and, because the mapping can make two names collide
 * (`a.b` and `a-b`), a hash of the original name is added whenever it changed anything.
 */
export function dns1035Name(base: string, suffix: string): string {
  let mapped = base.replace(/\./g, '-');
  if (!/^[a-z]/.test(mapped)) mapped = `mf-${mapped}`;
  const changed = mapped !== base;
  const full = suffix ? `${mapped}-${suffix}` : mapped;
  if (!changed && full.length <= DNS1123_LABEL_MAX) return full;
  const hash = shortHash(suffix ? `${base}-${suffix}` : base);
  const tail = suffix ? `-${suffix}` : '';
  const room = DNS1123_LABEL_MAX - tail.length - HASH_LEN - 1;
  return `${trimEnd(mapped.slice(0, room))}-${hash}${tail}`;
}

/** A label value (<= 63 characters, alphanumeric at both ends). */
export function labelValue(value: string): string {
  if (value.length <= LABEL_VALUE_MAX) return value;
  const room = LABEL_VALUE_MAX - HASH_LEN - 1;
  return `${trimEnd(value.slice(0, room))}-${shortHash(value)}`;
}

/** The names of everything one fleet owns, computed in one place so every object agrees. */
export interface FleetNames {
  /** Deployment: the fleet's own name, so `kubectl get deploy <fleet>` finds it; a DNS label so pod hostnames stay valid. */
  deployment: string;
  serviceAccount: string;
  role: string;
  roleBinding: string;
  /** `<fleet>-config`, key miner.yaml */
  configMap: string;
  /** `<fleet>-runtime`, key runtime.json (the live channel) */
  runtimeConfigMap: string;
  /** `<fleet>-metrics` (a Service name must be a DNS-1035 label) */
  service: string;
  /** `<fleet>-miner`, the miner pods' NetworkPolicy */
  networkPolicy: string;
}

export function fleetNames(fleet: string): FleetNames {
  const miner = boundedName(fleet, 'miner', DNS1123_SUBDOMAIN_MAX);
  return {
    deployment: boundedName(fleet, '', DNS1123_LABEL_MAX),
    serviceAccount: miner,
    role: miner,
    roleBinding: miner,
    configMap: boundedName(fleet, 'config', DNS1123_SUBDOMAIN_MAX),
    runtimeConfigMap: boundedName(fleet, 'runtime', DNS1123_SUBDOMAIN_MAX),
    service: dns1035Name(fleet, 'metrics'),
    networkPolicy: miner,
  };
}
