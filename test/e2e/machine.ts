import { readdirSync, readFileSync } from 'node:fs';
import { ipsetNames, iptablesRules, pidAlive, readSysctls } from '../support/index.js';
import { execFileSync } from 'node:child_process';

/** What a node could leave on the machine: rules, ipsets, links, routes, mounts, netns, sysctls. */
export interface MachineSnapshot {
  iptables: string;
  ipsets: string[];
  links: string[];
  routes: string[];
  mounts: string[];
  netns: string[];
  sysctls: Record<string, string>;
  shims: number[];
}

export interface CleanupReport {
  pidsWhileRunning: number[];
  rulesAddedWhileRunning: boolean;
  bridgeWhileRunning: boolean;
  /** What the probe pod added while it ran on the first node (the things stop() must remove). */
  podWhileRunning: { shims: number; netns: number; mounts: number };
  leftovers: Record<string, unknown[]>;
  stopMs: number;
  sysctlsBefore: Record<string, string>;
  sysctlsAfter: Record<string, string>;
}

const lines = (cmd: string, args: string[]): string[] =>
  execFileSync(cmd, args, { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export async function snapshotMachine(): Promise<MachineSnapshot> {
  let netns: string[];
  try {
    netns = readdirSync('/run/netns');
  } catch {
    netns = [];
  }
  const shims = readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').startsWith('/usr/bin/containerd-shim');
      } catch {
        return false;
      }
    })
    .map(Number);
  return {
    iptables: await iptablesRules(),
    ipsets: await ipsetNames(),
    links: lines('ip', ['-o', 'link', 'show']).map((l) => l.split(':')[1]!.trim().split('@')[0]!),
    routes: lines('ip', ['route', 'show', 'table', 'all']),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter(Boolean),
    netns,
    sysctls: readSysctls(),
    shims,
  };
}

export const added = <T>(before: T[], now: T[]): T[] => now.filter((x) => !before.includes(x));

/** Everything present after that was not there before (and processes of the node still alive). */
export function leftovers(before: MachineSnapshot, after: MachineSnapshot, pids: number[]): Record<string, unknown[]> {
  const beforeRules = before.iptables.split('\n');
  return {
    iptablesRules: added(beforeRules, after.iptables.split('\n')),
    ipsets: added(before.ipsets, after.ipsets),
    links: added(before.links, after.links),
    routes: added(before.routes, after.routes),
    mounts: added(before.mounts, after.mounts),
    netns: added(before.netns, after.netns),
    sysctls: Object.keys(before.sysctls).filter((k) => before.sysctls[k] !== after.sysctls[k]),
    shims: added(before.shims, after.shims),
    processes: pids.filter(pidAlive),
  };
}
