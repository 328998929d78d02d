// The real-component test harness: every server on 127.0.0.1, free ports, temp dirs, and no
// process left behind (see process.ts). Usage: `const cp = await startControlPlane()` … `await cp.stop()`.
export { binPath, cacheDir, systemBinPath, REPO_ROOT, type CachedBinary } from './paths.js';
export { freePort, retryOnPortClash } from './ports.js';
export { waitFor, sleep, GiveUp, type WaitForOptions } from './wait.js';
export { spawnProcess, makeTempDir, removeTempDir, livePids, pidAlive, listeningPorts, ManagedProcess, type SpawnOptions, type ExitInfo } from './process.js';
export { runTool, type ToolResult } from './tools.js';
export { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlPlane.js';
export { installCrds, waitForCrdsEstablished, PROJECT_CRDS } from './crds.js';
export { startFerretDB, type FerretDB } from './ferretdb.js';
export { startLitecoind, type Litecoind } from './litecoind.js';
export { startPrometheus, type Prometheus, type PrometheusOptions, type PromSample } from './prometheus.js';
export { VERSIONS } from './versions.js';
export { captureLogger } from './log.js';
export { startNode, PAUSE_IMAGE, PROJECT_IMAGE, PROJECT_IMAGE_TAR, NODE_IP, NODE_NAME, NODE_BRIDGE, POD_SUBNET, SERVICE_CIDR, type Node } from './node.js';
export { containmentDropCounters, ipsetNames, iptablesRules, readSysctls } from './nodeNetwork.js';
export { startStallProxy, type StallProxy } from './stall-proxy.js';
export { apiserverRequestCounts, apiserverWriteCounts, type ResourceRequestCounts, type WriteTarget } from './apiserverMetrics.js';
