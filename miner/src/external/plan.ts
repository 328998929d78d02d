/**
 * What to tell a device so it mines where the fleet wants: a pure function of the wanted state
 * (the fleet's pools in failover order, the active one, suspended or not) and what the device
 * reports. The supervisor runs the actions, re-reads the device and plans again, so the plan
 * only needs to make progress each round (pool ids are the device's, known after a re-read).
 */
import type { DevicePool, DeviceUnit } from './snapshot.js';

export interface WantedPool {
  name: string;
  url: string;
  user: string;
  password: string;
}

export interface WantedState {
  /** The fleet's pools in failover order. */
  pools: WantedPool[];
  /** Name of the pool to mine on now (the fleet's decision). */
  activePool: string;
  /** Economic suspension: the device stops hashing (its units disabled) but stays reachable. */
  suspended: boolean;
}

export type Action =
  | { cmd: 'addpool'; pool: string; url: string; user: string; password: string }
  | { cmd: 'enablepool' | 'switchpool' | 'removepool'; id: number; pool: string }
  | { cmd: 'poolpriority'; ids: number[] }
  | { cmd: 'ascenable' | 'ascdisable' | 'pgaenable' | 'pgadisable' | 'gpuenable' | 'gpudisable'; id: number };

/** For logs and events: everything but the password. */
export function describeAction(a: Action): string {
  switch (a.cmd) {
    case 'addpool':
      return `addpool ${a.pool} (${a.url}, user ${a.user})`;
    case 'poolpriority':
      return `poolpriority ${a.ids.join(',')}`;
    case 'enablepool':
    case 'switchpool':
    case 'removepool':
      return `${a.cmd} ${a.id} (${a.pool})`;
    default:
      return `${a.cmd} ${a.id}`;
  }
}

/** URLs compare without a trailing slash and case-insensitively in scheme and host. */
export function sameUrl(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

export function matchPool(device: DevicePool[], want: WantedPool): DevicePool | undefined {
  return device.find((d) => sameUrl(d.url, want.url) && d.user === want.user);
}

export function planActions(want: WantedState, pools: DevicePool[], units: DeviceUnit[]): Action[] {
  const actions: Action[] = [];
  const order = [...want.pools.filter((p) => p.name === want.activePool), ...want.pools.filter((p) => p.name !== want.activePool)];

  // 1. Pools the device lacks: add them first; ids are known after the next read.
  const missing = order.filter((w) => !matchPool(pools, w));
  for (const w of missing) actions.push({ cmd: 'addpool', pool: w.name, url: w.url, user: w.user, password: w.password });
  if (missing.length > 0) return actions;

  const matched = order.map((w) => ({ w, d: matchPool(pools, w)! }));
  // 2. Fleet pools the device has disabled.
  for (const { w, d } of matched) if (d.status.toLowerCase() === 'disabled') actions.push({ cmd: 'enablepool', id: d.id, pool: w.name });

  // 3. Priorities: active first, then the fleet's failover order (the device's own fallback then
  //    follows the fleet's order), strays last.
  const strays = pools.filter((d) => !matched.some((m) => m.d.id === d.id));
  const wantIds = [...matched.map((m) => m.d.id), ...strays.sort((a, b) => a.priority - b.priority).map((d) => d.id)];
  const haveIds = [...pools].sort((a, b) => a.priority - b.priority).map((d) => d.id);
  if (wantIds.join(',') !== haveIds.join(',')) actions.push({ cmd: 'poolpriority', ids: wantIds });

  // 4. Switch now when the device mines elsewhere (the fleet's decision overrides its fallback).
  const active = matched[0];
  const current = pools.find((d) => d.active);
  //    Exception: the wanted pool is Dead on the device and the device already fell back to
  //    another fleet pool; that fallback holds until the pool is back (the device fails back
  //    itself, its priorities are already right), so a dead pool never makes a device flap.
  const onFleetPool = !!current && matched.some((m) => m.d.id === current.id);
  const wantedDead = !!active && active.d.status.toLowerCase() === 'dead';
  if (active && (!current || current.id !== active.d.id) && !(wantedDead && onFleetPool))
    actions.push({ cmd: 'switchpool', id: active.d.id, pool: active.w.name });

  // 5. Pools that are not the fleet's go, one per round (ids shift after a removal), never the
  //    one in use.
  const removable = strays.filter((d) => !d.active).sort((a, b) => b.id - a.id)[0];
  if (removable) actions.push({ cmd: 'removepool', id: removable.id, pool: removable.url });

  // 6. Suspension: disable every hashing unit; resume: enable them (ascdisable/pgadisable, and
  //    cgminer/sgminer's gpudisable for GPUs: the miner stays up and reachable, the GPU idles).
  for (const u of units) {
    const prefix = u.kind === 'ASC' ? 'asc' : u.kind === 'PGA' ? 'pga' : 'gpu';
    if (want.suspended && u.enabled) actions.push({ cmd: `${prefix}disable`, id: u.id });
    else if (!want.suspended && !u.enabled) actions.push({ cmd: `${prefix}enable`, id: u.id });
  }
  return actions;
}
