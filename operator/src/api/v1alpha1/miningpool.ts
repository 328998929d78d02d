import { z } from 'zod';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { withCel } from './cel.js';
import { ConditionsSchema, SecretKeySelectorSchema, timestamp, uniqueItems } from './common.js';
import { celPattern, dnsSubdomainName, HOSTNAME_MAX, secretKey, serverName, STRATUM_URL_PATTERN, stratumHost } from './validators.js';
import { CIRCUIT_STATES, COINS, WORKER_NAME_PLACEHOLDERS } from './constants.js';

const PLACEHOLDER_ALTERNATION = WORKER_NAME_PLACEHOLDERS.join('|');
/** Literal characters allowed in a worker name, plus `{{placeholder}}`. */
export const WORKER_NAME_TEMPLATE_PATTERN = `^([A-Za-z0-9._-]|\\{\\{(${PLACEHOLDER_ALTERNATION})\\}\\})+$`;

/** An IPv4 CIDR, e.g. 203.0.113.0/24 (the URL pattern takes IPv4 literals only, so pools are reached over IPv4). */
export const IPV4_CIDR_PATTERN = '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$';
export const MAX_EGRESS_CIDRS = 16;

/** True when the CIDR has no bits set after its prefix (NetworkPolicy ipBlock wants 10.0.0.0/8, not 10.1.2.3/8). */
export function isCanonicalIpv4Cidr(cidr: string): boolean {
  const [ip, bits] = cidr.split('/') as [string, string];
  const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const hostBits = 32 - Number(bits);
  return hostBits === 0 || n % 2 ** hostBits === 0;
}

const isStratumScheme = (url: string) => url.startsWith('stratum+tcp://') || url.startsWith('stratum+ssl://');

export const StratumUrlSchema = withCel(
  z.string().min(1).max(512).meta({
    description: 'Stratum V1 endpoint as stratum+tcp://host:port (plain) or stratum+ssl://host:port (TLS), e.g. stratum+tcp://ltc.example.com:3333.',
  }),
  [
    {
      rule: "self.startsWith('stratum+tcp://') || self.startsWith('stratum+ssl://')",
      message: 'spec.url must use the stratum+tcp:// or stratum+ssl:// scheme',
      holds: isStratumScheme,
    },
    {
      rule: `!(self.startsWith('stratum+tcp://') || self.startsWith('stratum+ssl://')) || (self.matches(${celPattern(STRATUM_URL_PATTERN)}) && self.substring(14, self.lastIndexOf(':')).size() <= ${HOSTNAME_MAX})`,
      message: `spec.url must be scheme://host:port with a host name (labels of at most 63 letters, digits and '-', at most ${HOSTNAME_MAX} characters) or an IPv4 address, and a port 1-65535, e.g. stratum+tcp://pool.example.com:3333`,
      holds: (url) => !isStratumScheme(url) || (new RegExp(STRATUM_URL_PATTERN).test(url) && stratumHost(url).length <= HOSTNAME_MAX),
    },
  ],
);

export const PoolCredentialsSecretRefSchema = z
  .object({
    name: dnsSubdomainName('Name of the Secret (same namespace) holding the pool login.'),
    userKey: secretKey('Key in the Secret whose value is the pool username (usually a wallet address or account name).').default('username'),
    passwordKey: secretKey('Key in the Secret whose value is the pool password (often just "x").').default('password'),
  })
  .meta({
    description: 'Secret with the pool login. Credentials are only ever read from this Secret; they never appear in the resource, status, events or logs.',
  });

export const PoolTlsSchema = withCel(
  z
    .object({
      caSecretRef: SecretKeySelectorSchema.extend({
        key: secretKey('Key in the Secret holding the PEM CA bundle.').default('ca.crt'),
      })
        .optional()
        .meta({ description: 'Secret with a PEM CA bundle to verify the pool certificate. Omit to use the system trust store.' }),
      serverName: serverName('Server name (SNI) to send and to verify the certificate against; defaults to the URL host.').optional(),
      insecureSkipVerify: z.boolean().optional().meta({
        description:
          'Connect without verifying the pool certificate (chain, expiry, host name); TLS >= 1.2 is still required. Probes and miners both honour it. Default false. The pool then gets TLSVerified=False (reason InsecureSkipVerify) and a Warning Event, and an operator run with requireTLS refuses the pool.',
      }),
    })
    .meta({ description: 'TLS settings for a stratum+ssl:// pool.' }),
  [
    {
      rule: '!(has(self.insecureSkipVerify) && self.insecureSkipVerify) || !has(self.caSecretRef)',
      message: 'spec.tls.caSecretRef has no effect when spec.tls.insecureSkipVerify is true (nothing is verified); remove one of them',
      fieldPath: '.caSecretRef',
      reason: 'FieldValueForbidden',
      holds: (t) => t.insecureSkipVerify !== true || t.caSecretRef === undefined,
    },
  ],
);

export const PoolProbeSchema = withCel(
  z
    .object({
      intervalSeconds: z.int().min(5).max(3600).default(30).meta({ description: 'Seconds between two probes of the pool.' }),
      timeoutSeconds: z
        .int()
        .min(1)
        .max(300)
        .default(10)
        .meta({ description: 'Seconds a probe may take (connect, TLS, subscribe, authorize, first job) before it fails.' }),
      failureThreshold: z
        .int()
        .min(1)
        .max(100)
        .default(3)
        .meta({ description: 'Consecutive failed probes after which the pool is marked unavailable (circuit opens).' }),
      successThreshold: z
        .int()
        .min(1)
        .max(100)
        .default(1)
        .meta({ description: 'Consecutive successful probes after which an unavailable pool is available again.' }),
    })
    .meta({ description: 'How the operator probes the pool with a real Stratum handshake.' }),
  [
    {
      rule: 'self.timeoutSeconds <= self.intervalSeconds',
      message: 'spec.probe.timeoutSeconds must not exceed spec.probe.intervalSeconds',
      fieldPath: '.timeoutSeconds',
      holds: (p) => p.timeoutSeconds <= p.intervalSeconds,
    },
    {
      rule: 'self.successThreshold <= self.failureThreshold',
      message: 'spec.probe.successThreshold must not exceed spec.probe.failureThreshold',
      fieldPath: '.successThreshold',
      holds: (p) => p.successThreshold <= p.failureThreshold,
    },
  ],
);

export const MiningPoolSpecSchema = withCel(
  z
    .object({
      url: StratumUrlSchema,
      coins: uniqueItems(
        z
          .array(z.enum(COINS).meta({ description: 'A coin: LTC or DOGE.' }))
          .min(1)
          .max(COINS.length)
          .meta({
            description: 'Coins the pool pays out. Two coins (LTC and DOGE) mean a merged-mining pool.',
            'x-kubernetes-list-type': 'set',
          }),
        'spec.coins',
      ),
      credentialsSecretRef: PoolCredentialsSecretRefSchema,
      workerNameTemplate: z
        .string()
        .min(1)
        .max(128)
        .default('{{fleet}}.{{pod}}')
        .meta({
          description: `Worker name appended to the username as <user>.<worker>. Placeholders: ${WORKER_NAME_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}.`,
        }),
      tls: PoolTlsSchema.optional(),
      probe: PoolProbeSchema.prefault({}),
      egressCIDRs: withCel(
        uniqueItems(
          z
            .array(
              z
                .string()
                .min(9)
                .max(18)
                .regex(new RegExp(IPV4_CIDR_PATTERN), { error: 'must be an IPv4 CIDR such as 203.0.113.0/24' })
                .meta({ description: 'An IPv4 CIDR the pool endpoint lives in, e.g. 203.0.113.0/24.' }),
            )
            .min(1)
            .max(MAX_EGRESS_CIDRS)
            .meta({
              description:
                "Addresses the pool's endpoint resolves to. The fleets' NetworkPolicies then let miners reach the pool's port only at these addresses (and at the URL's host when it is an IPv4 literal); without them a pool named by DNS is reachable on its port at any address, since a NetworkPolicy cannot name a host.",
              'x-kubernetes-list-type': 'set',
            }),
          'spec.egressCIDRs',
        ),
        [
          {
            rule: `self.all(c, !c.matches('${IPV4_CIDR_PATTERN.replaceAll('\\', '\\\\')}') || cidr(c) == cidr(c).masked())`,
            message: 'spec.egressCIDRs entries must have no host bits set, e.g. 203.0.113.0/24 rather than 203.0.113.7/24',
            holds: (cidrs) => cidrs.every((c) => !new RegExp(IPV4_CIDR_PATTERN).test(c) || isCanonicalIpv4Cidr(c)),
          },
        ],
      ).optional(),
      feePercent: z.number().min(0).max(100).default(0).meta({ description: 'Pool fee in percent of revenue (0-100), used by the economics evaluation.' }),
    })
    .meta({ description: 'Desired state of a MiningPool: a Stratum V1 endpoint miners can be pointed at.' }),
  [
    {
      rule: `self.workerNameTemplate.matches('${WORKER_NAME_TEMPLATE_PATTERN.replaceAll('\\', '\\\\')}')`,
      message: `spec.workerNameTemplate may only contain letters, digits, '.', '_', '-' and the placeholders ${WORKER_NAME_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
      fieldPath: '.workerNameTemplate',
      holds: (s) => new RegExp(WORKER_NAME_TEMPLATE_PATTERN).test(s.workerNameTemplate),
    },
    {
      rule: "!has(self.tls) || self.url.startsWith('stratum+ssl://')",
      message: 'spec.tls is only allowed when spec.url uses stratum+ssl://',
      fieldPath: '.tls',
      reason: 'FieldValueForbidden',
      holds: (s) => s.tls === undefined || s.url.startsWith('stratum+ssl://'),
    },
  ],
);
export type MiningPoolSpec = z.output<typeof MiningPoolSpecSchema>;
export type MiningPoolSpecInput = z.input<typeof MiningPoolSpecSchema>;

export const MiningPoolStatusSchema = z
  .object({
    conditions: ConditionsSchema.optional(),
    latencyMs: z.int().min(0).optional().meta({
      description:
        'Time from connect to the first job of successful probes, in milliseconds: the median of the last 3, rounded to the 1-2-5 series, updated only on a change of bucket by at least 250 ms and a factor of 2 (a steady pool costs no writes).',
    }),
    lastProbeTime: timestamp('When a probe last changed this status (a steady pool is probed without status writes).').optional(),
    lastSuccessTime: timestamp('When a probe last succeeded.').optional(),
    consecutiveFailures: z.int().min(0).optional().meta({ description: 'Failed probes in a row.' }),
    consecutiveSuccesses: z.int().min(0).optional().meta({ description: 'Successful probes in a row.' }),
    circuit: z.enum(CIRCUIT_STATES).optional().meta({
      description: 'Circuit breaker state: Closed (healthy), Open (failing, probes back off), HalfOpen (trial probe).',
    }),
    nextProbeTime: timestamp('When the next probe is due (back-off while the circuit is open).').optional(),
    lastError: z.string().max(4096).optional().meta({ description: 'Why the last probe failed (never contains credentials).' }),
    observedGeneration: z.int().min(0).optional().meta({ description: 'metadata.generation this status was computed from.', format: 'int64' }),
  })
  .meta({ description: 'Observed state of a MiningPool, written by the operator.' });
export type MiningPoolStatus = z.output<typeof MiningPoolStatusSchema>;

export interface MiningPool {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: MiningPoolSpec;
  status?: MiningPoolStatus;
}
