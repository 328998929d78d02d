/** The dashboards the chart and k8s/monitoring ship, in menu order. */
import { farmOverview } from './farm.js';
import type { DashboardSpec } from './lib.js';
import { minerDashboard } from './miner.js';
import { operatorDashboard } from './operator.js';
import { poolsDashboard } from './pools.js';

export const DASHBOARDS: readonly DashboardSpec[] = [farmOverview, poolsDashboard, minerDashboard, operatorDashboard];
