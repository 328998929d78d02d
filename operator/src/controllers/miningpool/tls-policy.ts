/**
 * TLS policy of a pool (pure): whether the operator's policy allows the pool at all, and the
 * TLSVerified condition the MiningPool controller writes. Both the probe and the rendered miner
 * config take the same spec.tls, so what the condition says holds for miners too.
 */
import { MiningPoolConditionType, type Condition, type MiningPoolSpec } from '../../api/v1alpha1/index.js';

export interface TlsPolicy {
  /**
   * Operator-wide (flag --require-tls, chart value requireTLS): only stratum+ssl:// pools that
   * verify their certificate may be probed or mined on.
   */
  requireTls: boolean;
}

export const DEFAULT_TLS_POLICY: TlsPolicy = { requireTls: false };

type TlsSpec = Pick<MiningPoolSpec, 'url' | 'tls'>;

export const isTlsUrl = (url: string): boolean => url.startsWith('stratum+ssl://');

/** Why the policy refuses the pool, naming the field to change; undefined when it is allowed. */
export function tlsPolicyViolation(spec: TlsSpec, policy: TlsPolicy): string | undefined {
  if (!policy.requireTls) return undefined;
  if (!isTlsUrl(spec.url))
    return 'spec.url uses stratum+tcp:// (plain text: the pool login would travel unencrypted), but the operator requires TLS (requireTLS); use a stratum+ssl:// endpoint';
  if (spec.tls?.insecureSkipVerify === true)
    return 'spec.tls.insecureSkipVerify is true, but the operator requires verified TLS (requireTLS); remove it and give the pool CA in spec.tls.caSecretRef if it is a private one';
  return undefined;
}

/** What the last probe says about the TLS handshake (undefined: no probe ran). */
export interface TlsProbeView {
  ok: boolean;
  reason?: string;
  message?: string;
}

export interface TlsConditionValue {
  type: typeof MiningPoolConditionType.TLSVerified;
  status: 'True' | 'False' | 'Unknown';
  reason: 'Verified' | 'TLSFailed' | 'InsecureSkipVerify' | 'PlainText' | 'TLSRequired' | 'NotYetVerified';
  message: string;
}

/** Probe outcomes that prove the TLS handshake (certificate included) passed. */
const PAST_TLS = new Set(['AuthorizeRejected', 'NoWork']);

export function tlsCondition(spec: TlsSpec, policy: TlsPolicy, probe: TlsProbeView | undefined, prev: Condition | undefined): TlsConditionValue {
  const c = (status: TlsConditionValue['status'], reason: TlsConditionValue['reason'], message: string): TlsConditionValue => ({
    type: MiningPoolConditionType.TLSVerified,
    status,
    reason,
    message,
  });
  const refused = tlsPolicyViolation(spec, policy);
  if (refused) return c('False', 'TLSRequired', refused);
  if (!isTlsUrl(spec.url)) return c('False', 'PlainText', 'spec.url uses stratum+tcp://: the session, the pool login included, is not encrypted');
  if (spec.tls?.insecureSkipVerify === true)
    return c(
      'False',
      'InsecureSkipVerify',
      'spec.tls.insecureSkipVerify is true: probes and miners accept any certificate (chain, expiry and host name are not checked; TLS >= 1.2 still)',
    );
  if (probe && (probe.ok || (probe.reason !== undefined && PAST_TLS.has(probe.reason))))
    return c('True', 'Verified', 'certificate chain, validity and host name verified in the last TLS handshake (TLS >= 1.2)');
  if (probe && probe.reason === 'TLSFailed') return c('False', 'TLSFailed', probe.message ?? 'TLS handshake failed');
  // No handshake reached (connect failed, Secret missing): what was last known still stands.
  if (prev && (prev.reason === 'Verified' || prev.reason === 'TLSFailed')) return c(prev.status, prev.reason, prev.message ?? '');
  return c('Unknown', 'NotYetVerified', 'no TLS handshake with the pool yet');
}
