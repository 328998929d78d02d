// The shipped samples (k8s/samples/*.yaml) made runnable here: the same objects, with the values a
// user edits (REPLACE-ME credentials, the pools' public addresses, the TLS pool's CA) filled in
// with the harness's litecoind-fed Stratum pools, sized for a 2-CPU node, and with economics off
// (its price feeds are public HTTPS APIs, which containment forbids). The demo and the e2e tier
// apply these, so a sample that stops matching the CRDs or the chart fails there.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './paths.js';

export const SAMPLES_DIR = path.join(REPO_ROOT, 'k8s', 'samples');

/** A Kubernetes object as read from YAML (only what the rewrite touches is typed). */
export interface SampleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
  [k: string]: unknown;
}

export interface LocalPools {
  /** stratum+tcp:// URL of the pool standing in for the sample's merged LTC+DOGE pool. */
  mergedUrl: string;
  /** stratum+ssl:// URL, CA (PEM) and certificate name of the pool standing in for ltc-tls. */
  tlsUrl: string;
  tlsCaPem: string;
  tlsServerName: string;
}

export interface LocalSampleOptions {
  pools: LocalPools;
  /**
   * Fleets to keep by sample name (cpu-fleet, gpu-fleet, usb-asic-fleet, usb-external-fleet); default all but
   * usb-external-fleet without `externalMiner` (never asic-rack or asic-farm, whose ASICs are not local).
   */
  fleets?: string[];
  /** cpu-fleet replicas (default 2: one hashing thread each fits the node's 2 CPUs with the rest). */
  cpuReplicas?: number;
  /** Device nodes for usb-asic-fleet and usb-external-fleet (default the samples' /dev/tty*). */
  usbDevices?: string[];
  /**
   * The external miner of usb-external-fleet in place of the sample's bfgminer image (which is a
   * placeholder no local registry has), e.g. the project image running `miner emulate-asic` on
   * 127.0.0.1 at the sample's apiPort. Without it that fleet is left out.
   */
  externalMiner?: { image: string; command?: string[]; args?: string[]; model?: string };
  /**
   * Local addresses (e.g. `miner emulate-asic` on the node's bridge address) of the inline
   * spec.device.network.targets of network fleets, by fleet and target name. A network fleet named
   * here is kept (subject to `fleets`) with each target's host and port replaced (names and models
   * stay the sample's); one not named is left out as before.
   */
  networkTargets?: Record<string, Record<string, { host: string; port: number }>>;
}

/** One inline target of a network fleet sample (spec.device.network.targets). */
export interface SampleNetworkTarget {
  name: string;
  host: string;
  port?: number;
  model?: string;
  [k: string]: unknown;
}

/** The inline spec.device.network.targets of the network fleet sample `fleet` (default asic-rack), as shipped. */
export function sampleNetworkTargets(fleet = 'asic-rack', objs: SampleObject[] = readSamples()): SampleNetworkTarget[] {
  const o = objs.find((x) => x.kind === 'MinerFleet' && x.metadata.name === fleet);
  const targets = ((o?.spec?.device as Record<string, unknown> | undefined)?.network as Record<string, unknown> | undefined)?.targets;
  if (!Array.isArray(targets) || targets.length === 0)
    throw new Error(`k8s/samples: no MinerFleet ${fleet} with inline spec.device.network.targets; update test/support/samples.ts`);
  return targets as SampleNetworkTarget[];
}

/** The sample whose device container is an external miner (spec.miner.external). */
export const EXTERNAL_MINER_SAMPLE = 'usb-external-fleet';

/** Every object of every sample file, in file order (00-secrets first). */
export function readSamples(dir = SAMPLES_DIR): SampleObject[] {
  const out: SampleObject[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as SampleObject | null;
      if (obj) out.push(obj);
    }
  }
  return out;
}

/** Small requests: the node's 2 CPUs also run the control plane, the operator and litecoind. */
const SMALL = { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } };

/** The samples with the local endpoints filled in (throws when a sample no longer has what it rewrites). */
export function localSamples(opts: LocalSampleOptions): SampleObject[] {
  const objs = readSamples();
  const keep = opts.fleets;
  const out: SampleObject[] = [];
  for (const o of objs) {
    const name = o.metadata.name;
    const need = (what: string): never => {
      throw new Error(`k8s/samples: ${o.kind} ${name} has no ${what}; update test/support/samples.ts`);
    };
    if (o.kind === 'Secret') {
      const data = o.stringData ?? need('stringData');
      const values: Record<string, Record<string, string>> = {
        'ltc-pool-credentials': { username: 'demo-ltc-wallet', password: 'x' },
        'merged-pool-credentials': { username: 'demo-merged-account', password: 'demo-password' },
        'ltc-pool-ca': { 'ca.crt': opts.pools.tlsCaPem },
        'litecoind-rpc': { username: 'demo-rpc', password: 'demo-rpc-password' },
      };
      o.stringData = { ...data, ...(values[name] ?? {}) };
      if (Object.values(o.stringData).some((v) => v.includes('REPLACE-ME'))) need('local value for every REPLACE-ME');
    } else if (o.kind === 'MiningPool') {
      const spec = o.spec ?? need('spec');
      if (name === 'merged-ltc-doge') spec.url = opts.pools.mergedUrl;
      else if (name === 'ltc-tls') {
        spec.url = opts.pools.tlsUrl;
        const tls = (spec.tls as Record<string, unknown> | undefined) ?? need('spec.tls');
        tls.serverName = opts.pools.tlsServerName;
      } else need('local pool (unknown sample pool)');
    } else if (o.kind === 'MinerFleet') {
      if (keep && !keep.includes(name)) continue;
      const local = opts.networkTargets?.[name];
      if (local) {
        const spec = o.spec ?? need('spec');
        const network = ((spec.device as Record<string, unknown> | undefined)?.network as Record<string, unknown> | undefined) ?? need('spec.device.network');
        if (!Array.isArray(network.targets)) need('inline spec.device.network.targets');
        network.targets = (network.targets as SampleNetworkTarget[]).map((t) => {
          const at = local[t.name] ?? need(`local address for its target ${t.name}`);
          return { ...t, host: at.host, port: at.port };
        });
        if (spec.economics) (spec.economics as Record<string, unknown>).enabled = false;
        out.push(o);
        continue;
      }
      // Its targets are a rack's LAN addresses: nothing local answers there, and the tests' network
      // stays in 127.0.0.0/8 (test/external/farm-operator.test.ts runs a network fleet on emulators).
      if (name === 'asic-rack' || name === 'asic-farm') continue;
      if (name === EXTERNAL_MINER_SAMPLE && !opts.externalMiner) {
        if (keep) throw new Error(`${EXTERNAL_MINER_SAMPLE} needs LocalSampleOptions.externalMiner: its bfgminer image is a placeholder`);
        continue;
      }
      const spec = o.spec ?? need('spec');
      const miner = (spec.miner as Record<string, unknown> | undefined) ?? need('spec.miner');
      miner.resources = SMALL;
      if (spec.economics) (spec.economics as Record<string, unknown>).enabled = false;
      if (name === 'cpu-fleet') {
        spec.replicas = opts.cpuReplicas ?? 2;
        miner.threads = 1;
      } else if (name === 'usb-asic-fleet' || name === EXTERNAL_MINER_SAMPLE) {
        const device = spec.device as Record<string, unknown>;
        if (opts.usbDevices) {
          device.hostDevices = opts.usbDevices;
          device.perPod = opts.usbDevices.length;
        }
        if (name === EXTERNAL_MINER_SAMPLE) {
          const external = (miner.external as Record<string, unknown> | undefined) ?? need('spec.miner.external');
          const ext = opts.externalMiner!;
          external.image = ext.image;
          for (const k of ['command', 'args', 'model'] as const) {
            if (ext[k] !== undefined) external[k] = ext[k];
            else delete external[k];
          }
        }
      }
    }
    out.push(o);
  }
  return out;
}
