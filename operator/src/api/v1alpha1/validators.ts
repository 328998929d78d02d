/**
 * The shared validators of every field that ends up in something Kubernetes (or the miner)
 * validates again: object names, label keys and values, Secret keys, resource names and
 * quantities, ports, host names and IP addresses, URLs, image references and host paths. Each is
 * written to accept exactly what the thing it becomes accepts (apimachinery's validation, the
 * container image reference grammar, the miner's config schema), never more: a fleet the API
 * server stores must render objects the API server and the miner accept.
 *
 * Patterns are RE2- and JavaScript-compatible (one text serves the CRD's OpenAPI `pattern`, CEL's
 * `matches`, zod and the property test's generators). Rules a pattern cannot say are CEL with a
 * TypeScript twin (withCel).
 */
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { withCel } from './cel.js';

/** A pattern as a CEL string literal. */
export const celPattern = (pattern: string): string => `'${pattern.replaceAll('\\', '\\\\')}'`;

// ---------------------------------------------------------------- names and labels

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
/** RFC 1123 label (apimachinery IsDNS1123Label): namespaces, volume names. At most 63 characters. */
export const DNS1123_LABEL_PATTERN = `^${DNS_LABEL}$`;
/** RFC 1123 subdomain (IsDNS1123Subdomain): names of Secrets, MiningPools, MinerFleets, classes. At most 253. */
export const DNS_SUBDOMAIN_PATTERN = `^${DNS_LABEL}(\\.${DNS_LABEL})*$`;

/** A qualified name as label keys are: optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export const LABEL_KEY_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A label value: empty, or up to 63 alphanumerics with `-`, `_`, `.` inside. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
/** Longest qualified name: a 253-character prefix, `/`, a 63-character name. */
export const LABEL_KEY_MAX = 317;
export const MAX_LABELS = 64;

/** IsQualifiedName: the pattern, and a prefix (before `/`) of at most 253 characters. */
export function isQualifiedName(key: string): boolean {
  if (key.length > LABEL_KEY_MAX || !new RegExp(LABEL_KEY_PATTERN).test(key)) return false;
  const slash = key.indexOf('/');
  return slash < 0 || slash <= 253;
}
const QUALIFIED_NAME_MESSAGE =
  "must be a qualified name: an optional DNS subdomain prefix of at most 253 characters and '/', then at most 63 alphanumerics, '-', '_' or '.' that start and end with an alphanumeric (e.g. example.com/rack)";
/** CEL twin of isQualifiedName for the string `v`. */
const celQualifiedName = (v: string) => `${v}.matches(${celPattern(LABEL_KEY_PATTERN)}) && (!${v}.contains('/') || ${v}.indexOf('/') <= 253)`;

export const dnsSubdomainName = (description: string) => z.string().min(1).max(253).regex(new RegExp(DNS_SUBDOMAIN_PATTERN)).meta({ description });
export const dnsLabel = (description: string) => z.string().min(1).max(63).regex(new RegExp(DNS1123_LABEL_PATTERN)).meta({ description });

/** A label key (or a taint key, a topology key) at `field` (its full path, for the message): a qualified name. */
export const labelKey = (description: string, field: string) =>
  withCel(z.string().min(1).max(LABEL_KEY_MAX).regex(new RegExp(LABEL_KEY_PATTERN)).meta({ description }), [
    {
      rule: "!self.contains('/') || self.indexOf('/') <= 253",
      message: `${field} must be a qualified name whose prefix (before the /) has at most 253 characters`,
      holds: (k) => isQualifiedName(k) || !new RegExp(LABEL_KEY_PATTERN).test(k),
    },
  ]);
export const labelValue = (description: string) => z.string().max(63).regex(new RegExp(LABEL_VALUE_PATTERN)).meta({ description });

/**
 * A map of labels (a nodeSelector, a selector's matchLabels). The CRD's OpenAPI cannot constrain
 * map keys, so the keys are checked by CEL (and the same predicate in zod).
 */
export const labelMap = (description: string, field: string) =>
  withCel(
    z
      .record(z.string(), labelValue('Label value.'))
      .superRefine((m, ctx) => {
        if (Object.keys(m).length > MAX_LABELS) ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_LABELS} items` });
      })
      .meta({ description, maxProperties: MAX_LABELS }),
    [
      {
        rule: `self.all(k, ${celQualifiedName('k')})`,
        message: `${field} keys ${QUALIFIED_NAME_MESSAGE}`,
        holds: (m) => Object.keys(m).every(isQualifiedName),
      },
    ],
  );

// ---------------------------------------------------------------- Secrets

/**
 * A key of a Secret's data (IsConfigMapKey): alphanumerics, `-`, `_`, `.`, and not `.`, `..` or
 * anything starting with `..` (the kubelet writes keys as file names).
 */
export const SECRET_KEY_PATTERN = '^\\.?[-_a-zA-Z0-9][-._a-zA-Z0-9]*$';
export const secretKey = (description: string) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(new RegExp(SECRET_KEY_PATTERN), { error: "must be a Secret key: alphanumerics, '-', '_' and '.', not '.' or '..' and not starting with '..'" })
    .meta({ description });

// ---------------------------------------------------------------- resources

/**
 * A resource quantity as the API server parses it (apimachinery ParseQuantity), not negative: a
 * number with at most 18 integer and 9 fractional digits, then a binary (Ki..Ei) or decimal (n..E)
 * suffix or an integer exponent. The OpenAPI pattern core/v1 publishes admits fractional
 * exponents (`1e1.5`) and signs that ParseQuantity or pod validation then refuse.
 */
export const QUANTITY_PATTERN = '^\\+?(([0-9]{1,18}(\\.[0-9]{0,9})?)|(\\.[0-9]{1,9}))(([KMGTPE]i)|[numkMGTPE]|([eE][-+]?[0-9]{1,2}))?$';
/** Largest integer quantity written as a JSON number (1 PB of memory; well within what JavaScript holds exactly). */
export const MAX_INT_QUANTITY = 1e15;

/** An int-or-string resource quantity at `field`, as `resources.requests` values in core/v1; never negative. */
export const quantity = (field: string) =>
  withCel(
    z.union([z.int().min(0).max(MAX_INT_QUANTITY), z.string().max(64).regex(new RegExp(QUANTITY_PATTERN))]).meta({
      description: 'A resource quantity, e.g. "500m", "2", "1Gi"; never negative.',
      'x-kubernetes-int-or-string': true,
      pattern: QUANTITY_PATTERN,
    }),
    [
      {
        // The pattern only applies to the string form; an integer needs its own bounds.
        rule: `type(self) != int || (self >= 0 && self <= ${MAX_INT_QUANTITY})`,
        message: `${field} must not be negative (and an integer quantity at most ${MAX_INT_QUANTITY})`,
        holds: (q) => typeof q !== 'number' || (q >= 0 && q <= MAX_INT_QUANTITY),
      },
    ],
  );
export type Quantity = z.output<ReturnType<typeof quantity>>;

const QUANTITY_PARTS = /^\+?(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][-+]?\d+)?$/;
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXP: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** An exact value m × 10^e × 1024^k of a quantity accepted by QUANTITY_PATTERN. */
function exactQuantity(q: string | number): { m: bigint; e: number; k: number } {
  if (typeof q === 'number') return { m: BigInt(q), e: 0, k: 0 };
  const p = QUANTITY_PARTS.exec(q);
  if (!p) throw new Error(`"${q}" is not a resource quantity`);
  const frac = p[2] ?? '';
  const suffix = p[3] ?? '';
  const m = BigInt(`${p[1] ?? ''}${frac}` || '0');
  if (suffix in BINARY_EXP) return { m, e: -frac.length, k: BINARY_EXP[suffix]! };
  // `E` alone is the exa suffix; an exponent has digits after the e.
  if (suffix.length > 1 && /^[eE]/.test(suffix)) return { m, e: Number(suffix.slice(1)) - frac.length, k: 0 };
  return { m, e: (DECIMAL_EXP[suffix] ?? 0) - frac.length, k: 0 };
}

/** -1, 0 or 1 as a < b, a = b, a > b, exactly (CEL's quantity(a).compareTo(quantity(b))). */
export function compareQuantities(a: string | number, b: string | number): number {
  const x = exactQuantity(a);
  const y = exactQuantity(b);
  const e = Math.min(x.e, y.e);
  const vx = x.m * 10n ** BigInt(x.e - e) * 1024n ** BigInt(x.k);
  const vy = y.m * 10n ** BigInt(y.e - e) * 1024n ** BigInt(y.k);
  return vx < vy ? -1 : vx > vy ? 1 : 0;
}

/**
 * Resources a fleet may set in spec.miner.resources: the standard container resources that can be
 * overcommitted. Extended resources (GPUs, device-plugin sticks) come from spec.device, where the
 * operator keeps request = limit as the API server demands.
 */
export const CONTAINER_RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'] as const;

/** requests or limits: keys from CONTAINER_RESOURCE_NAMES, quantities as values. */
export const resourceList = (description: string, field: string) =>
  withCel(
    z
      .record(z.string(), quantity(`${field}[*]`))
      .superRefine((m, ctx) => {
        if (Object.keys(m).length > CONTAINER_RESOURCE_NAMES.length)
          ctx.addIssue({ code: 'custom', message: `must have at most ${CONTAINER_RESOURCE_NAMES.length} items` });
      })
      .meta({ description, maxProperties: CONTAINER_RESOURCE_NAMES.length }),
    [
      {
        rule: `self.all(k, k in [${CONTAINER_RESOURCE_NAMES.map((n) => `'${n}'`).join(', ')}])`,
        message: `${field} keys must be ${CONTAINER_RESOURCE_NAMES.join(', ')} (device resources come from spec.device)`,
        holds: (m) => Object.keys(m).every((k) => (CONTAINER_RESOURCE_NAMES as readonly string[]).includes(k)),
      },
    ],
  );

/** The CEL check that every request is at most its limit (the API server refuses a pod otherwise). */
export const REQUESTS_WITHIN_LIMITS_RULE =
  '!has(self.requests) || !has(self.limits) || self.requests.all(k, !(k in self.limits) || !isQuantity(string(self.requests[k])) || !isQuantity(string(self.limits[k])) || quantity(string(self.requests[k])).compareTo(quantity(string(self.limits[k]))) <= 0)';
export function requestsWithinLimits(r: { requests?: Record<string, Quantity> | undefined; limits?: Record<string, Quantity> | undefined }): boolean {
  const { requests, limits } = r;
  if (!requests || !limits) return true;
  return Object.entries(requests).every(([k, v]) => limits[k] === undefined || compareQuantities(v, limits[k]) <= 0);
}

/**
 * An extended resource name (IsExtendedResourceName): `domain/name`, the domain a DNS subdomain
 * outside kubernetes.io, the name a qualified name's name part; `requests.<it>` must still be a
 * qualified name, so the domain has at most 244 characters.
 */
export const EXTENDED_RESOURCE_NAME_PATTERN =
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
export function isExtendedResourceName(name: string): boolean {
  return new RegExp(EXTENDED_RESOURCE_NAME_PATTERN).test(name) && !name.includes('kubernetes.io/') && !name.startsWith('requests.') && name.indexOf('/') <= 244;
}
export const extendedResourceName = (description: string, field: string) =>
  withCel(
    z
      .string()
      .min(3)
      .max(308)
      .regex(new RegExp(EXTENDED_RESOURCE_NAME_PATTERN), { error: 'must be an extended resource name: <domain>/<name>, e.g. nvidia.com/gpu' })
      .meta({ description }),
    [
      {
        rule: "!self.contains('kubernetes.io/') && !self.startsWith('requests.') && (!self.contains('/') || self.indexOf('/') <= 244)",
        message: `${field} must be an extended resource name: a domain outside kubernetes.io of at most 244 characters (not starting with requests.), then /, e.g. nvidia.com/gpu`,
        holds: (n) => !new RegExp(EXTENDED_RESOURCE_NAME_PATTERN).test(n) || isExtendedResourceName(n),
      },
    ],
  );

// ---------------------------------------------------------------- hosts, ports, URLs

/** A port number 1–65535 as text, without leading zeros. */
export const PORT_TEXT = '([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])';
export const port = (description: string) => z.int().min(1).max(65535).meta({ description, format: 'int32' });

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** A dotted-quad IPv4 address without leading zeros (what CEL's isIP and Go's netip accept). */
export const IPV4_TEXT = `${OCTET}(\\.${OCTET}){3}`;
/**
 * A host name (RFC 1123, any case): labels of 1–63 characters, the last one starting with a
 * letter, so a name can never be read as an IPv4 address (`999.1.1.1` is neither).
 */
export const HOSTNAME_TEXT = '([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?';
/** The shape of a bracket-less IPv6 address; isIP / isIPv6 then checks it. No embedded IPv4, no zone. */
export const IPV6_SHAPE_TEXT = '[0-9A-Fa-f:]*:[0-9A-Fa-f:]*';
export const HOSTNAME_MAX = 253;

export const HOSTNAME_PATTERN = `^${HOSTNAME_TEXT}$`;
/** A device API host: a host name, an IPv4 address or a bracket-less IPv6 address. */
export const NETWORK_HOST_PATTERN = `^(${IPV4_TEXT}|${HOSTNAME_TEXT}|${IPV6_SHAPE_TEXT})$`;

const HOST_MESSAGE = "must be a host name (labels of letters, digits and '-', the last starting with a letter), an IPv4 address or an IPv6 address";
export const networkHost = (description: string, field: string) =>
  withCel(z.string().min(1).max(HOSTNAME_MAX).regex(new RegExp(NETWORK_HOST_PATTERN), { error: HOST_MESSAGE }).meta({ description }), [
    {
      rule: "!self.contains(':') || isIP(self)",
      message: `${field} must be a valid IPv6 address (no zone, no embedded IPv4) when it contains ':'`,
      holds: (h) => !h.includes(':') || isIPv6(h),
    },
  ]);

/** A TLS server name: a host name (not an IP address: SNI carries names only). */
export const serverName = (description: string) =>
  z
    .string()
    .min(1)
    .max(HOSTNAME_MAX)
    .regex(new RegExp(HOSTNAME_PATTERN), { error: "must be a DNS host name (labels of letters, digits and '-', the last starting with a letter)" })
    .meta({ description });

/** stratum+tcp:// or stratum+ssl://, a host name or IPv4 address, a port 1–65535. */
export const STRATUM_URL_PATTERN = `^stratum\\+(tcp|ssl)://(${IPV4_TEXT}|${HOSTNAME_TEXT}):${PORT_TEXT}$`;
/** `stratum+tcp://` and `stratum+ssl://` are 14 characters. */
const STRATUM_HOST_START = 14;
export function stratumHost(url: string): string {
  return url.slice(STRATUM_HOST_START, url.lastIndexOf(':'));
}

/**
 * http:// or https://, a host name, an IPv4 address or a bracketed IPv6 address, an optional port
 * 1–65535, then an optional path and query. No user info (fetch refuses a URL that carries
 * credentials), no fragment, no white space.
 */
export const HTTP_URL_PATTERN = `^https?://(${IPV4_TEXT}|${HOSTNAME_TEXT}|\\[[0-9A-Fa-f:]+\\])(:${PORT_TEXT})?([/?][^\\s#]*)?$`;
export const HTTP_URL_MAX = 2048;
const httpHostOf = (url: string): string => {
  const rest = url.slice(url.indexOf('//') + 2);
  return rest.startsWith('[') ? rest.slice(1, rest.indexOf(']')) : (/^[^:/?]*/.exec(rest)?.[0] ?? '');
};
export const httpUrl = (description: string, field: string) =>
  withCel(
    z
      .string()
      .min(1)
      .max(HTTP_URL_MAX)
      .regex(new RegExp(HTTP_URL_PATTERN), {
        error: 'must be http(s)://host[:port][/path][?query] with a host name or IP address, a port 1-65535, no user info and no fragment',
      })
      .meta({ description }),
    [
      {
        rule: "!self.contains('://[') || !self.contains(']') || isIP(self.substring(self.indexOf('[') + 1, self.indexOf(']')))",
        message: `${field} must have a valid IPv6 address between its brackets`,
        holds: (u) => !u.includes('://[') || !u.includes(']') || isIPv6(httpHostOf(u)),
      },
    ],
  );

// ---------------------------------------------------------------- images and paths

const PATH_COMPONENT = '[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '([a-zA-Z0-9]|[a-zA-Z0-9][-a-zA-Z0-9]*[a-zA-Z0-9])';
/**
 * A container image reference (the distribution reference grammar the runtimes parse):
 * `[registry[:port]/]path[:tag][@digest]`, path components lower case, a tag of at most 128 word
 * characters, `.` and `-`, a digest of a known algorithm with the right number of lower-case hex
 * digits.
 */
export const IMAGE_REFERENCE_PATTERN =
  `^((${DOMAIN_COMPONENT}(\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:]+\\])(:[0-9]+)?/)?${PATH_COMPONENT}(/${PATH_COMPONENT})*` +
  '(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}))?$';
/** Runtimes refuse a repository name longer than 255 characters; the whole reference stays within it plus a digest. */
export const IMAGE_REFERENCE_MAX = 255 + 1 + 128 + 1 + 7 + 128;
export const imageReference = (description: string, field: string) =>
  withCel(
    z
      .string()
      .min(1)
      .max(IMAGE_REFERENCE_MAX)
      .regex(new RegExp(IMAGE_REFERENCE_PATTERN), {
        error: 'must be an image reference: [registry[:port]/]name[:tag][@sha256:<64 hex>], lower-case name components, no spaces',
      })
      .meta({ description }),
    [
      {
        rule: "(self.split('@')[0].lastIndexOf(':') > self.split('@')[0].lastIndexOf('/') ? self.split('@')[0].substring(0, self.split('@')[0].lastIndexOf(':')) : self.split('@')[0]).size() <= 255",
        message: `${field} must have a repository name (the reference without tag and digest) of at most 255 characters`,
        holds: (ref) => imageName(ref).length <= 255,
      },
    ],
  );
/** The repository name of an image reference: without `@digest` and `:tag`. */
export function imageName(ref: string): string {
  const noDigest = ref.split('@')[0] ?? ref;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

/**
 * A host device path under /dev, normalised: absolute, no empty, `.` or `..` segment, no
 * trailing `/` (the API server refuses `..` in a hostPath; a path that is not normalised would
 * mount the same device twice under two spellings).
 */
export const HOST_DEVICE_PATH_PATTERN = '^/dev(/([A-Za-z0-9_-]|\\.[A-Za-z0-9_-]|\\.\\.[A-Za-z0-9._-])[A-Za-z0-9._-]*)+$';
export const hostDevicePath = (description: string) =>
  z
    .string()
    .min(6)
    .max(256)
    .regex(new RegExp(HOST_DEVICE_PATH_PATTERN), {
      error: "must be a normalised path under /dev (e.g. /dev/ttyACM0): no '.', '..' or empty segments, no trailing '/'",
    })
    .meta({ description });
