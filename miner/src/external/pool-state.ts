/**
 * A device's pool connection in the CPU miner's terms (miner/src/stratum/client.ts
 * ConnectionState), derived from its `pools` reply, so `minefleet_miner_pool_connection_state`
 * means the same for an ASIC as for our miner and the alerts and dashboards need no second case.
 * cgminer says less than our Stratum client: per pool a Status (Alive, Dead, Disabled, Rejecting)
 * and whether its stratum connection is the one in use ("Stratum Active"). The mapping:
 * - the pool in use (Stratum Active) and Alive or Rejecting (connected, only its shares are
 *   refused): authorized;
 * - Dead (cgminer gave up on the connection and fails over): disconnected;
 * - Disabled (the operator or the supervisor turned it off): stopped;
 * - Alive but not in use although it is the pool the device should use now (highest priority
 *   that is not Disabled or Dead): connecting (the device is about to switch to it).
 * The subscribing/authorizing steps are not visible through the API. Pure.
 */
import type { ConnectionState } from '../stratum/client.js';
import type { DevicePool } from './snapshot.js';

export interface DevicePoolState {
  /** The pool the device mines on, or the one it is trying when it mines on none. */
  pool: DevicePool;
  state: ConnectionState;
}

function stateOf(p: DevicePool): ConnectionState | undefined {
  switch (p.status.trim().toLowerCase()) {
    case 'alive':
    case 'rejecting':
      return p.active ? 'authorized' : 'connecting';
    case 'dead':
      return 'disconnected';
    case 'disabled':
      return 'stopped';
    default:
      return undefined; // a status we do not know: no series rather than a guess
  }
}

/**
 * The device's current pool and its connection state; undefined when the device does not say
 * which pool is in use (no "Stratum Active" field), reports no pools, or an unknown Status.
 */
export function devicePoolState(pools: DevicePool[]): DevicePoolState | undefined {
  if (pools.length === 0 || !pools.some((p) => p.reportsActive)) return undefined;
  const byPriority = [...pools].sort((a, b) => a.priority - b.priority || a.id - b.id);
  // In use; else what cgminer's failover picks next (enabled, not dead); else the first enabled
  // (all dead: the device waits for it); else the first (all disabled).
  const pool =
    pools.find((p) => p.active) ??
    byPriority.find((p) => !/^(dead|disabled)$/i.test(p.status.trim())) ??
    byPriority.find((p) => !/^disabled$/i.test(p.status.trim())) ??
    byPriority[0]!;
  const state = stateOf(pool);
  return state ? { pool, state } : undefined;
}
