import type { MinerFleet, MiningPool } from '../../../api/v1alpha1/index.js';
import { DEFAULT_TLS_POLICY, tlsPolicyViolation, type TlsPolicy } from '../../miningpool/tls-policy.js';

/** What the desired-state code needs of a Secret: its name and which keys it has (never values). */
export interface SecretRefView {
  metadata: { name?: string };
  data?: Record<string, unknown>;
}

/** A reference the fleet cannot use: missing, or (kind TLSPolicy) refused by the operator's TLS policy. */
export interface MissingReference {
  kind: 'MiningPool' | 'Secret' | 'SecretKey' | 'TLSPolicy';
  /** Name of the missing MiningPool or Secret (for SecretKey: the Secret that lacks the key). */
  name: string;
  /** The missing key (kind SecretKey). */
  key?: string;
  /** The fleet's pool the reference belongs to. */
  pool: string;
  /** Human-readable, names what is missing and who needs it; never contains Secret values. */
  message: string;
}

const DEFAULT_USER_KEY = 'username';
const DEFAULT_PASSWORD_KEY = 'password';
const DEFAULT_CA_KEY = 'ca.crt';

/**
 * Which of the fleet's references are missing: MiningPools, the Secrets they name (credentials,
 * TLS CA) and keys in those Secrets. In spec.pools order, one entry per missing thing (a missing
 * Secret is reported once per pool, not once per key). A pod whose env or volume names a missing
 * Secret or key never starts, so the controller reports these as conditions instead.
 */
export function missingReferences(fleet: MinerFleet, pools: MiningPool[], secrets: SecretRefView[], tls: TlsPolicy = DEFAULT_TLS_POLICY): MissingReference[] {
  const ns = fleet.metadata.namespace ?? 'default';
  const poolByName = new Map(pools.map((p) => [p.metadata.name, p]));
  const secretByName = new Map(secrets.map((s) => [s.metadata.name, s]));
  const missing: MissingReference[] = [];
  for (const ref of fleet.spec.pools) {
    const pool = poolByName.get(ref.name);
    if (!pool) {
      missing.push({ kind: 'MiningPool', name: ref.name, pool: ref.name, message: `MiningPool "${ref.name}" not found in namespace "${ns}"` });
      continue;
    }
    // Refused pools are never rendered: a miner's own fallback must not reach a pool the policy forbids.
    const refused = tlsPolicyViolation(pool.spec, tls);
    if (refused) {
      missing.push({ kind: 'TLSPolicy', name: ref.name, pool: ref.name, message: `MiningPool "${ref.name}" refused: ${refused}` });
      continue;
    }
    // Several keys may live in one Secret: report a missing Secret once per pool.
    const reportedSecrets = new Set<string>();
    const need = (secretName: string, key: string, what: string) => {
      const secret = secretByName.get(secretName);
      if (!secret) {
        if (reportedSecrets.has(secretName)) return;
        reportedSecrets.add(secretName);
        missing.push({
          kind: 'Secret',
          name: secretName,
          pool: ref.name,
          message: `Secret "${secretName}" (${what} of MiningPool "${ref.name}") not found in namespace "${ns}"`,
        });
      } else if (!Object.prototype.hasOwnProperty.call(secret.data ?? {}, key)) {
        missing.push({
          kind: 'SecretKey',
          name: secretName,
          key,
          pool: ref.name,
          message: `Secret "${secretName}" has no key "${key}" (${what} of MiningPool "${ref.name}")`,
        });
      }
    };
    const creds = pool.spec.credentialsSecretRef;
    need(creds.name, creds.userKey ?? DEFAULT_USER_KEY, 'username');
    need(creds.name, creds.passwordKey ?? DEFAULT_PASSWORD_KEY, 'password');
    const ca = pool.spec.tls?.caSecretRef;
    if (ca) need(ca.name, ca.key ?? DEFAULT_CA_KEY, 'TLS CA');
  }
  return missing;
}

/** The pools whose every reference resolves: only those can be rendered into a pod. */
export function usablePools(fleet: MinerFleet, pools: MiningPool[], secrets: SecretRefView[], tls: TlsPolicy = DEFAULT_TLS_POLICY): MiningPool[] {
  const broken = new Set(missingReferences(fleet, pools, secrets, tls).map((m) => m.pool));
  const referenced = new Set(fleet.spec.pools.map((p) => p.name));
  return pools.filter((p) => p.metadata.name !== undefined && referenced.has(p.metadata.name) && !broken.has(p.metadata.name));
}
