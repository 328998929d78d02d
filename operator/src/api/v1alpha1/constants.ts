/** API group and version of every minefleet custom resource. */
export const GROUP = 'minefleet.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const MINING_POOL_KIND = 'MiningPool';
export const MINING_POOL_PLURAL = 'miningpools';
export const MINING_POOL_SINGULAR = 'miningpool';
export const MINING_POOL_SHORT_NAMES = ['mp'] as const;

export const MINER_FLEET_KIND = 'MinerFleet';
export const MINER_FLEET_PLURAL = 'minerfleets';
export const MINER_FLEET_SINGULAR = 'minerfleet';
export const MINER_FLEET_SHORT_NAMES = ['mf'] as const;

/** `kubectl get mining` lists every minefleet resource. */
export const CATEGORY = 'mining';

export const COINS = ['LTC', 'DOGE'] as const;
export type Coin = (typeof COINS)[number];

export const DEVICE_KINDS = ['cpu', 'gpu', 'usb', 'network'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export const MINER_BACKENDS = ['cpu', 'gpu', 'usb', 'network'] as const;
export type MinerBackend = (typeof MINER_BACKENDS)[number];

export const FAILOVER_STRATEGIES = ['Priority', 'Weighted'] as const;
export type FailoverStrategy = (typeof FAILOVER_STRATEGIES)[number];

export const CIRCUIT_STATES = ['Closed', 'Open', 'HalfOpen'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export const STALE_FEED_POLICIES = ['Hold', 'Suspend'] as const;
export type StaleFeedPolicy = (typeof STALE_FEED_POLICIES)[number];

/** Condition types written on MiningPool.status.conditions. */
export const MiningPoolConditionType = {
  Available: 'Available',
  /** The summary condition every kind has (kubectl wait --for=condition=Ready, the Ready column): a pool is ready when fleets may use it. */
  Ready: 'Ready',
  /** Whether probes and miners verify the pool's certificate (and whether the policy allows the pool). */
  TLSVerified: 'TLSVerified',
} as const;

/** Condition types written on MinerFleet.status.conditions. */
export const MinerFleetConditionType = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  PoolAvailable: 'PoolAvailable',
  Profitable: 'Profitable',
  Suspended: 'Suspended',
  Degraded: 'Degraded',
  /** Network fleets with spec.device.network.targetsFrom: whether the ConfigMap's list was read and is valid. */
  DeviceTargetsResolved: 'DeviceTargetsResolved',
} as const;

/** Placeholders a workerNameTemplate may use (the miner substitutes them). */
export const WORKER_NAME_PLACEHOLDERS = ['fleet', 'pod', 'namespace'] as const;

/**
 * Longest MinerFleet name: owned objects are named `<fleet>-runtime`, `<fleet>-config` and pods
 * `<fleet>-<hash>-<suffix>`, and the name is used as a label value (max 63).
 */
export const MAX_FLEET_NAME_LENGTH = 45;

/** Networked ASICs one network fleet may list inline (and the most one supervisor pod drives). */
export const MAX_NETWORK_TARGETS = 1000;
/**
 * Networked ASICs a targetsFrom ConfigMap may list: a ConfigMap holds 1 MiB, about 60 bytes a
 * target; spread over ceil(N / targetsPerPod) supervisor pods.
 */
export const MAX_NETWORK_TARGETS_FROM_CONFIGMAP = 10000;
/** The cgminer API's conventional port. */
export const CGMINER_API_PORT = 4028;
/**
 * The port our miner and supervisor serve metrics and probes on in a fleet's pods (the operator
 * renders it as DEFAULT_METRICS_PORT, the chart's networkPolicy.minerMetricsPort). An external
 * miner's API in the same pod must not take it.
 */
export const SUPERVISOR_METRICS_PORT = 9100;
