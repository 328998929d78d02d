#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, obtain the real components, build the
# project and its image, and run the demo on a real node (control plane + containerd/kubelet node,
# the chart installed by helm, the samples applied against litecoind-fed regtest pools, Prometheus,
# FerretDB). Extra arguments go to scripts/demo.ts, e.g. `--seconds 120`; Ctrl-C stops it all.
# The node exists once per machine: the demo waits for the node lock (flock
# /tmp/minefleet-node.flock) that the e2e tier holds too.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "[demo] provision real components"
bash scripts/provision.sh
echo "[demo] build and image (npm run image: npm run build, then buildah without a registry)"
bash scripts/image.sh
exec npx tsx scripts/demo.ts "$@"
