import { createHash } from 'node:crypto';
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { MinerConfigSchema, type ExternalConfigInput, type MinerConfigInput } from '#miner/config';
import { RUNTIME_KEY_DEFAULT } from '#miner/runtime';
import { SUPERVISOR_METRICS_PORT, type MinerFleet } from '../../../api/v1alpha1/index.js';
import type { DeviceAccess } from './device.js';
import { fleetName, fleetNamespace } from './metadata.js';
import type { OrderedPool } from './pools.js';

export const MINER_CONFIG_KEY = 'miner.yaml';
export const RUNTIME_KEY = RUNTIME_KEY_DEFAULT;
/** Where the config ConfigMap is mounted; the miner's command line names the file in it. */
export const CONFIG_DIR = '/etc/minefleet';
export const CONFIG_PATH = `${CONFIG_DIR}/${MINER_CONFIG_KEY}`;
/**
 * CA bundles live outside CONFIG_DIR: nesting a mount inside a ConfigMap volume makes the runtime
 * create the mount point in that read-only volume, which fails on some runtimes.
 */
export const TLS_DIR = '/etc/minefleet-tls';
/** One number for the pods' metrics/probe port and the port the API refuses for an external miner. */
export const DEFAULT_METRICS_PORT = SUPERVISOR_METRICS_PORT;

/** How one pool reaches the pod: env vars for its login, a volume for its CA. */
export interface PoolWiring {
  name: string;
  userEnv: string;
  passwordEnv: string;
  env: V1EnvVar[];
  volume?: V1Volume;
  volumeMount?: V1VolumeMount;
  caFile?: string;
}

/**
 * Env var names are by position in failover order, not by pool name: pool names may contain
 * characters env names cannot (`.`, `-`), and mapping them could make two pools collide.
 */
export function poolEnvNames(index: number): { userEnv: string; passwordEnv: string } {
  return { userEnv: `MINEFLEET_POOL_${index}_USER`, passwordEnv: `MINEFLEET_POOL_${index}_PASSWORD` };
}

export function poolWiring(ordered: OrderedPool[]): PoolWiring[] {
  return ordered.map(({ pool }, i) => {
    const name = pool.metadata.name!;
    const { userEnv, passwordEnv } = poolEnvNames(i);
    const creds = pool.spec.credentialsSecretRef;
    // Credentials only ever travel as references: the kubelet resolves them into the container's
    // environment, so neither the ConfigMap nor the Deployment holds a value.
    const env: V1EnvVar[] = [
      { name: userEnv, valueFrom: { secretKeyRef: { name: creds.name, key: creds.userKey ?? 'username' } } },
      { name: passwordEnv, valueFrom: { secretKeyRef: { name: creds.name, key: creds.passwordKey ?? 'password' } } },
    ];
    const wiring: PoolWiring = { name, userEnv, passwordEnv, env };
    const ca = pool.spec.tls?.caSecretRef;
    if (ca) {
      const volumeName = `pool-${i}-ca`;
      const dir = `${TLS_DIR}/pool-${i}`;
      wiring.volume = { name: volumeName, secret: { secretName: ca.name, items: [{ key: ca.key ?? 'ca.crt', path: 'ca.crt' }] } };
      wiring.volumeMount = { name: volumeName, mountPath: dir, readOnly: true };
      wiring.caFile = `${dir}/ca.crt`;
    }
    return wiring;
  });
}

export interface RenderedMinerConfig {
  config: MinerConfigInput;
  /** The text of the `miner.yaml` key. */
  yaml: string;
  /** sha256 (hex) of `yaml`: the pod template annotation that rolls pods on a config change. */
  checksum: string;
}

export interface RenderInputs {
  fleet: MinerFleet;
  ordered: OrderedPool[];
  wiring: PoolWiring[];
  backend: DeviceAccess['backend'];
  /** `miner supervise`: the devices the supervisor drives (network targets, or the sidecar's miner). */
  external?: ExternalConfigInput;
  runtimeConfigMapName: string;
  metricsPort: number;
}

/**
 * The miner's static config. Its `activePool` is the first pool in failover order, NOT the pool
 * the controller currently chose: the chosen pool reaches miners through the runtime ConfigMap
 * (the live channel), and keeping it out of this file keeps a pool switch from changing the
 * checksum and restarting every miner.
 */
export function renderMinerConfig(i: RenderInputs): RenderedMinerConfig {
  const first = i.wiring[0];
  if (!first) throw new Error(`desired state: MinerFleet ${fleetNamespace(i.fleet)}/${fleetName(i.fleet)} has no existing pool to render a miner config for`);
  const pools: MinerConfigInput['pools'] = i.ordered.map(({ pool }, idx) => {
    const w = i.wiring[idx]!;
    const entry: MinerConfigInput['pools'][number] = {
      name: w.name,
      url: pool.spec.url,
      userEnv: w.userEnv,
      passwordEnv: w.passwordEnv,
      workerNameTemplate: pool.spec.workerNameTemplate ?? '{{fleet}}.{{pod}}',
    };
    const tls: NonNullable<MinerConfigInput['pools'][number]['tls']> = {};
    if (w.caFile) tls.caFile = w.caFile;
    if (pool.spec.tls?.serverName) tls.serverName = pool.spec.tls.serverName;
    // The same field the probe honours, so a pool the probe reaches is one the miners reach.
    if (pool.spec.tls?.insecureSkipVerify === true) tls.insecureSkipVerify = true;
    if (Object.keys(tls).length > 0) entry.tls = tls;
    return entry;
  });
  const config: MinerConfigInput = {
    fleet: fleetName(i.fleet),
    namespace: fleetNamespace(i.fleet),
    pools,
    activePool: first.name,
  };
  if (i.backend) {
    const backend: NonNullable<MinerConfigInput['backend']> = { kind: i.backend.kind };
    if (i.backend.threads !== undefined) backend.threads = i.backend.threads;
    if (i.backend.devices !== undefined) backend.devices = [...i.backend.devices];
    config.backend = backend;
  }
  // Key order is the file's order: kept as before external miners, so existing fleets keep their checksum.
  config.metrics = { host: '0.0.0.0', port: i.metricsPort };
  config.runtime = { kubernetes: { namespace: fleetNamespace(i.fleet), configMapName: i.runtimeConfigMapName, key: RUNTIME_KEY } };
  config.logLevel = i.fleet.spec.miner.logLevel ?? 'info';
  if (i.external) config.external = i.external;
  // The schema is the miner's own: a config it would reject is a bug here, not a user error.
  const parsed = MinerConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((iss) => `${iss.path.join('.') || '(root)'}: ${iss.message}`).join('; ');
    throw new Error(`desired state bug: rendered miner config for MinerFleet ${fleetNamespace(i.fleet)}/${fleetName(i.fleet)} is invalid: ${issues}`);
  }
  const yaml = `# Generated by the minefleet operator from MinerFleet ${fleetNamespace(i.fleet)}/${fleetName(i.fleet)}; edits are overwritten.\n${stringify(config, { lineWidth: 0 })}`;
  return { config, yaml, checksum: createHash('sha256').update(yaml).digest('hex') };
}
