import type { ResourceType } from '../../runtime/resource.js';
import { API_VERSION, MINER_FLEET_KIND, MINER_FLEET_PLURAL, MINING_POOL_KIND, MINING_POOL_PLURAL } from './constants.js';

/** Where our kinds live in the API: what the Manager keys its shared informers by. */
export const MinerFleets: ResourceType = { apiVersion: API_VERSION, kind: MINER_FLEET_KIND, plural: MINER_FLEET_PLURAL, namespaced: true };
export const MiningPools: ResourceType = { apiVersion: API_VERSION, kind: MINING_POOL_KIND, plural: MINING_POOL_PLURAL, namespaced: true };
