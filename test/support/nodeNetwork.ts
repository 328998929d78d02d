import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The node's network, all of it owned by the harness and contained:
 * - a Linux bridge NODE_BRIDGE with NODE_IP; pods get addresses in POD_SUBNET from host-local;
 * - the Service CIDR routed to the bridge (before kube-proxy starts, so a host request to a
 *   ClusterIP without rules never follows the default route), and rejected at once when
 *   kube-proxy did not DNAT it;
 * - IPv4 forwarding enabled on the bridge only (never globally), and DROP rules for anything
 *   forwarded into or out of the bridge from another interface. The DROP rules live in the
 *   mangle table's FORWARD chain: kube-proxy inserts ACCEPT rules (established connections) at
 *   the top of filter FORWARD, and mangle FORWARD runs before them.
 * Pods get no default route (host-local routes only the Service CIDR via NODE_IP) and the CNI
 * bridge plugin runs with ipMasq false and isGateway false (isGateway would turn on forwarding
 * for every interface).
 */
export const NODE_BRIDGE = 'mfbr0';
export const NODE_IP = '10.250.0.1';
export const POD_SUBNET = '10.250.0.0/24';
export const NODE_NAME = 'minefleet-node';
/** The control plane's --service-cluster-ip-range (controlPlane.ts). */
export const SERVICE_CIDR = '10.0.0.0/24';

const CONTAIN_CHAIN = 'MINEFLEET-CONTAIN';
const SERVICE_CHAIN = 'MINEFLEET-SVC';

/** Global sysctls that the kubelet or kube-proxy may change, restored on stop. */
export const WATCHED_SYSCTLS = [
  'vm/overcommit_memory',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/forwarding',
  'net/ipv4/conf/all/route_localnet',
  'net/ipv6/conf/all/forwarding',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
  'net/netfilter/nf_conntrack_max',
];

export async function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of WATCHED_SYSCTLS) {
    try {
      out[key] = readFileSync(`/proc/sys/${key}`, 'utf8').trim();
    } catch {
      // not present on this kernel
    }
  }
  return out;
}

export function restoreSysctls(saved: Record<string, string>): void {
  const now = readSysctls();
  for (const [key, value] of Object.entries(saved)) {
    if (now[key] === value) continue;
    try {
      writeFileSync(`/proc/sys/${key}`, value);
    } catch {
      // read-only on this kernel: nothing we could have changed either
    }
  }
}

const ipt = (args: string[], allowFail = false): Promise<string> => sh('iptables', ['-w', '5', ...args], { allowFail });

export async function bridgeExists(): Promise<boolean> {
  return (await sh('ip', ['-o', 'link', 'show', 'dev', NODE_BRIDGE], { allowFail: true })).includes(NODE_BRIDGE);
}

/** Bridge, address, bridge-only forwarding, Service CIDR route and the containment rules. */
export async function setUpNodeNetwork(): Promise<void> {
  await sh('ip', ['link', 'add', NODE_BRIDGE, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${NODE_IP}/24`, 'dev', NODE_BRIDGE]);
  await sh('ip', ['link', 'set', NODE_BRIDGE, 'up']);
  // Per-interface forwarding: packets arriving on the bridge may be routed (back onto it).
  writeFileSync(`/proc/sys/net/ipv4/conf/${NODE_BRIDGE}/forwarding`, '1');
  await sh('ip', ['route', 'add', SERVICE_CIDR, 'dev', NODE_BRIDGE, 'src', NODE_IP]);

  await ipt(['-t', 'mangle', '-N', CONTAIN_CHAIN]);
  await ipt(['-t', 'mangle', '-A', CONTAIN_CHAIN, '-i', NODE_BRIDGE, '!', '-o', NODE_BRIDGE, '-j', 'DROP']);
  await ipt(['-t', 'mangle', '-A', CONTAIN_CHAIN, '!', '-i', NODE_BRIDGE, '-o', NODE_BRIDGE, '-j', 'DROP']);
  await ipt(['-t', 'mangle', '-I', 'FORWARD', '1', '-j', CONTAIN_CHAIN]);
  // Service addresses kube-proxy did not translate: refuse at once instead of ARPing on the bridge.
  await ipt(['-N', SERVICE_CHAIN]);
  await ipt(['-A', SERVICE_CHAIN, '-d', SERVICE_CIDR, '!', '-o', NODE_BRIDGE, '-j', 'DROP']);
  await ipt(['-A', SERVICE_CHAIN, '-d', SERVICE_CIDR, '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-j', 'REJECT']);
  await ipt(['-I', 'OUTPUT', '1', '-j', SERVICE_CHAIN]);
  await ipt(['-I', 'FORWARD', '1', '-j', SERVICE_CHAIN]);
}

/** Packets counted by the DROP rules of the containment chains (mangle FORWARD and Service). */
export async function containmentDropCounters(): Promise<{ rule: string; packets: number }[]> {
  const rows: { rule: string; packets: number }[] = [];
  for (const [table, chain] of [
    ['mangle', CONTAIN_CHAIN],
    ['filter', SERVICE_CHAIN],
  ] as const) {
    const out = await ipt(['-t', table, '-L', chain, '-v', '-n', '-x']);
    for (const line of out.split('\n').slice(2)) {
      const f = line.trim().split(/\s+/);
      if (f[2] === 'DROP') rows.push({ rule: `${table}/${chain}: ${f.slice(2).join(' ')}`, packets: Number(f[0]) });
    }
  }
  return rows;
}

/** The arguments of an iptables-save rule line: quoted ones (kube-router's comments have spaces) stay whole, unquoted. */
function saveLineArgs(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!));
}

/** Removes every rule and chain the node made (ours, kube-proxy's, the kubelet's), in both families. */
export async function removeNodeIptables(kubeProxyBin: string | undefined): Promise<void> {
  if (kubeProxyBin) await sh(kubeProxyBin, ['--cleanup', '--v=0'], { allowFail: true });
  await ipt(['-t', 'mangle', '-D', 'FORWARD', '-j', CONTAIN_CHAIN], true);
  await ipt(['-D', 'OUTPUT', '-j', SERVICE_CHAIN], true);
  await ipt(['-D', 'FORWARD', '-j', SERVICE_CHAIN], true);
  for (const tool of ['iptables', 'ip6tables']) {
    const dump = await sh(`${tool}-save`, [], { allowFail: true });
    let table = '';
    const chains: [string, string][] = [];
    const jumps: [string, string[]][] = [];
    for (const line of dump.split('\n')) {
      if (line.startsWith('*')) table = line.slice(1);
      else if (line.startsWith(':')) {
        const chain = line.slice(1).split(' ')[0]!;
        if (/^(KUBE-|MINEFLEET-)/.test(chain)) chains.push([table, chain]);
      } else if (line.startsWith('-A ') && /-j (KUBE-|MINEFLEET-)/.test(line)) {
        const spec = saveLineArgs(line.slice(3));
        if (!/^(KUBE-|MINEFLEET-)/.test(spec[0]!)) jumps.push([table, spec]);
      }
    }
    for (const [t, spec] of jumps) await sh(tool, ['-w', '5', '-t', t, '-D', ...spec], { allowFail: true });
    for (const [t, c] of chains) await sh(tool, ['-w', '5', '-t', t, '-F', c], { allowFail: true });
    for (const [t, c] of chains) await sh(tool, ['-w', '5', '-t', t, '-X', c], { allowFail: true });
  }
}

/** kube-router's ipsets (KUBE-SRC-*, KUBE-DST-*; `inet6:` for IPv6): only the node's policy controller makes KUBE- sets here. */
const NODE_IPSET = /^(inet6:)?KUBE-/;

/** The names of the machine's ipsets (empty when the ipset tool is missing). */
export async function ipsetNames(): Promise<string[]> {
  return (await sh('ipset', ['list', '-n'], { allowFail: true })).split('\n').filter(Boolean).sort();
}

/**
 * Destroys the ipsets the policy controller made. Run after removeNodeIptables: a set that an
 * iptables rule still references cannot be destroyed. (kube-router --cleanup-config v2.1.0 does not
 * clean its firewall: it runs the cleanup on a controller it never initialised.)
 */
export async function removeNodeIpsets(): Promise<void> {
  for (const name of (await ipsetNames()).filter((n) => NODE_IPSET.test(n))) await sh('ipset', ['destroy', name], { allowFail: true });
}

/** iptables-save of both families without counters, for before/after comparisons. */
export async function iptablesRules(): Promise<string> {
  const dumps = await Promise.all(['iptables-save', 'ip6tables-save'].map((t) => sh(t, [], { allowFail: true })));
  return dumps
    .join('\n')
    .split('\n')
    .filter((l) => l.startsWith('-A') || (l.startsWith(':') && !/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /.test(l)))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
    .sort()
    .join('\n');
}

export async function tearDownNodeNetwork(): Promise<void> {
  // Deleting the bridge removes its address and the Service CIDR route with it.
  if (await bridgeExists()) await sh('ip', ['link', 'del', NODE_BRIDGE]);
}
