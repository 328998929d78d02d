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
  /** Fleets to keep by sample name (cpu-fleet, gpu-fleet, usb-asic-fleet); default all (never asic-rack or asic-farm, whose ASICs are not local). */
  fleets?: string[];
  /** cpu-fleet replicas (default 2: one hashing thread each fits the node's 2 CPUs with the rest). */
  cpuReplicas?: number;
  /** Device nodes for usb-asic-fleet (default the sample's /dev/ttyACM*). */
  usbDevices?: string[];
}

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
      // Its targets are a rack's LAN addresses: nothing local answers there, and the tests' network
      // stays in 127.0.0.0/8 (test/external/farm-operator.test.ts runs a network fleet on emulators).
      if (name === 'asic-rack' || name === 'asic-farm') continue;
      const spec = o.spec ?? need('spec');
      const miner = (spec.miner as Record<string, unknown> | undefined) ?? need('spec.miner');
      miner.resources = SMALL;
      if (spec.economics) (spec.economics as Record<string, unknown>).enabled = false;
      if (name === 'cpu-fleet') {
        spec.replicas = opts.cpuReplicas ?? 2;
        miner.threads = 1;
      } else if (name === 'usb-asic-fleet') {
        const device = spec.device as Record<string, unknown>;
        if (opts.usbDevices) {
          device.hostDevices = opts.usbDevices;
          device.perPod = opts.usbDevices.length;
        }
      }
    }
    out.push(o);
  }
  return out;
}
