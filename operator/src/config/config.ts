import { hostname } from 'node:os';
import { z } from 'zod';

const portSchema = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be an integer` })
    .min(0, { error: `${what} must be between 0 and 65535` })
    .max(65535, { error: `${what} must be between 0 and 65535` });

const boolSchema = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const durationSeconds = (what: string) =>
  z.coerce
    .number({ error: `${what} must be a number of seconds` })
    .positive({ error: `${what} must be > 0` })
    .max(3600);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** `k=v,k2=v2` as matchLabels; '' is no labels (`{}` selects everything). */
const labelSelector = (what: string) =>
  z.string().transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const part of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const i = part.indexOf('=');
      const [k, v] = i < 0 ? [part, undefined] : [part.slice(0, i).trim(), part.slice(i + 1).trim()];
      if (v === undefined || !LABEL_KEY.test(k) || k.length > 317 || !LABEL_VALUE.test(v) || v.length > 63)
        ctx.addIssue({ code: 'custom', message: `${what}: "${part}" is not key=value with a valid label key and value` });
      else out[k] = v;
    }
    return out;
  });

export const OperatorConfigSchema = z
  .object({
    /** '' or '*' = all namespaces; otherwise a comma-separated list */
    watchNamespaces: z
      .string()
      .default('')
      .transform((s, ctx) => {
        const t = s.trim();
        if (t === '' || t === '*') return undefined;
        const list = t
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
        for (const ns of list)
          if (!DNS_LABEL.test(ns) || ns.length > 63) ctx.addIssue({ code: 'custom', message: `watch namespace "${ns}" is not a valid namespace name` });
        return [...new Set(list)];
      }),
    metricsPort: portSchema('metrics port').default(8080),
    probePort: portSchema('probe port').default(8081),
    bindAddress: z.string().min(1).default('0.0.0.0'),
    leaderElect: boolSchema.default(true),
    leaseName: z.string().regex(DNS_LABEL, { error: 'lease name must be a DNS label' }).default('minefleet-operator'),
    leaseNamespace: z.string().regex(DNS_LABEL, { error: 'lease namespace must be a namespace name' }).optional(),
    leaseDurationSeconds: durationSeconds('lease duration').default(15),
    renewDeadlineSeconds: durationSeconds('renew deadline').default(10),
    retryPeriodSeconds: durationSeconds('retry period').default(2),
    identity: z
      .string()
      .min(1)
      .default(() => `${hostname()}_${process.pid}`),
    concurrency: z.coerce.number({ error: 'concurrency must be a number' }).int().min(1, { error: 'concurrency must be at least 1' }).max(256).default(4),
    minerImage: z.string().min(1, { error: 'miner image must not be empty' }).default('ghcr.io/minefleet/minefleet:latest'),
    minerImagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    resyncPeriodSeconds: z.coerce.number().min(0).max(86400).default(600),
    /** MongoDB URI (from a Secret via env); never logged. */
    historyMongodbUri: z
      .string()
      .refine((u) => u.startsWith('mongodb://') || u.startsWith('mongodb+srv://'), { error: 'must start with mongodb:// or mongodb+srv:// (value not shown)' })
      .optional(),
    /** A file holding the URI (a mounted Secret key); read at start-up. */
    historyMongodbUriFile: z.string().min(1).optional(),
    historyDb: z.string().min(1).default('minefleet'),
    historySpillDir: z.string().min(1).default('/var/lib/minefleet/spill'),
    collectorIntervalSeconds: z.coerce.number({ error: 'collector interval must be a number of seconds' }).min(1).max(3600).default(15),
    collectorWindowSeconds: z.coerce.number({ error: 'collector window must be a number of seconds' }).int().min(1).max(86_400).default(60),
    collectorConcurrency: z.coerce.number().int().min(1).max(4096).default(64),
    collectorTimeoutSeconds: z.coerce.number().min(0.1).max(60).default(5),
    /** Labels of the operator's own pods: the miners' NetworkPolicies admit them to the metrics port. */
    operatorPodSelector: labelSelector('operator pod selector').prefault('app.kubernetes.io/name=minefleet,app.kubernetes.io/component=operator'),
    /** Labels of Prometheus' pods, admitted to the miners' metrics port. */
    prometheusPodSelector: labelSelector('Prometheus pod selector').prefault('app.kubernetes.io/name=prometheus'),
    /** Labels of the namespaces Prometheus may run in; empty: any namespace. */
    prometheusNamespaceSelector: labelSelector('Prometheus namespace selector').prefault(''),
    /**
     * TLS by policy: only stratum+ssl:// pools that verify their certificate are probed and
     * rendered into miner configs; others get Available=False / TLSRequired.
     */
    requireTls: boolSchema.default(false),
  })
  .superRefine((c, ctx) => {
    if (!(c.leaseDurationSeconds > c.renewDeadlineSeconds))
      ctx.addIssue({
        code: 'custom',
        path: ['leaseDurationSeconds'],
        message: `lease duration (${c.leaseDurationSeconds}s) must be greater than renew deadline (${c.renewDeadlineSeconds}s)`,
      });
    if (c.historyMongodbUri !== undefined && c.historyMongodbUriFile !== undefined)
      ctx.addIssue({ code: 'custom', path: ['historyMongodbUriFile'], message: 'give the MongoDB URI or a file holding it, not both' });
    if (c.collectorWindowSeconds < c.collectorIntervalSeconds)
      ctx.addIssue({
        code: 'custom',
        path: ['collectorWindowSeconds'],
        message: `window (${c.collectorWindowSeconds}s) must be at least the scrape interval (${c.collectorIntervalSeconds}s)`,
      });
    if (!(c.renewDeadlineSeconds > 1.2 * c.retryPeriodSeconds))
      ctx.addIssue({
        code: 'custom',
        path: ['renewDeadlineSeconds'],
        message: `renew deadline (${c.renewDeadlineSeconds}s) must be greater than 1.2 x retry period (${c.retryPeriodSeconds}s)`,
      });
  });

export type OperatorConfig = z.output<typeof OperatorConfigSchema>;

/** flag name → config field; env var is MINEFLEET_ + SCREAMING_SNAKE of the field. */
const FLAGS: Record<string, keyof z.input<typeof OperatorConfigSchema>> = {
  'watch-namespaces': 'watchNamespaces',
  'metrics-port': 'metricsPort',
  'probe-port': 'probePort',
  'bind-address': 'bindAddress',
  'leader-elect': 'leaderElect',
  'lease-name': 'leaseName',
  'lease-namespace': 'leaseNamespace',
  'lease-duration': 'leaseDurationSeconds',
  'renew-deadline': 'renewDeadlineSeconds',
  'retry-period': 'retryPeriodSeconds',
  identity: 'identity',
  concurrency: 'concurrency',
  'miner-image': 'minerImage',
  'miner-image-pull-policy': 'minerImagePullPolicy',
  'log-level': 'logLevel',
  'resync-period': 'resyncPeriodSeconds',
  'history-mongodb-uri': 'historyMongodbUri',
  'history-mongodb-uri-file': 'historyMongodbUriFile',
  'history-db': 'historyDb',
  'history-spill-dir': 'historySpillDir',
  'collector-interval': 'collectorIntervalSeconds',
  'collector-window': 'collectorWindowSeconds',
  'collector-concurrency': 'collectorConcurrency',
  'collector-timeout': 'collectorTimeoutSeconds',
  'operator-pod-selector': 'operatorPodSelector',
  'prometheus-pod-selector': 'prometheusPodSelector',
  'prometheus-namespace-selector': 'prometheusNamespaceSelector',
  'require-tls': 'requireTls',
};

/** Boolean flags: a bare `--flag` means true, `--no-flag` false. */
const BOOLEAN_FIELDS = new Set<string>(['leaderElect', 'requireTls']);

export function envName(field: string): string {
  return 'MINEFLEET_' + field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

export function usage(): string {
  return (
    'usage: minefleet-operator [--flag=value ...]\n' +
    Object.entries(FLAGS)
      .map(([f, field]) => `  --${f.padEnd(24)} env ${envName(field)}`)
      .join('\n') +
    '\n'
  );
}

/**
 * Reads env (MINEFLEET_*) then flags (`--name=value` or `--name value`; flags win). Throws an
 * Error listing every bad setting by its flag and env name.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const raw: Record<string, unknown> = {};
  for (const field of Object.values(FLAGS)) {
    const v = env[envName(field)];
    if (v !== undefined && v !== '') raw[field] = v;
  }
  if (raw.leaseNamespace === undefined && env.POD_NAMESPACE) raw.leaseNamespace = env.POD_NAMESPACE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"\n${usage()}`);
    let [flag, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (flag.startsWith('no-') && BOOLEAN_FIELDS.has(FLAGS[flag.slice(3)] ?? '')) {
      flag = flag.slice(3);
      negated = true;
    }
    const field = FLAGS[flag];
    if (!field) throw new Error(`unknown flag --${flag}\n${usage()}`);
    if (negated) value = 'false';
    else if (value === undefined) {
      const next = argv[i + 1];
      if (BOOLEAN_FIELDS.has(field) && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) throw new Error(`flag --${flag} needs a value`);
      else value = argv[++i];
    }
    raw[field] = value;
  }
  const parsed = OperatorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const byField = Object.fromEntries(Object.entries(FLAGS).map(([f, field]) => [field, f]));
    const lines = parsed.error.issues.map((iss) => {
      const field = String(iss.path[0] ?? '');
      const where = field ? `--${byField[field] ?? field} (${envName(field)})` : 'config';
      return `${where}: ${iss.message}`;
    });
    throw new Error(`invalid operator configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
