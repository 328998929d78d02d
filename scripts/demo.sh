#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, obtain the real components, build the
# project and its image, and run the demo on a real node (control plane + containerd/kubelet node,
# the chart installed by helm, the samples applied against litecoind-fed regtest pools and three
# emulated ASICs for the network fleet, Prometheus, FerretDB). Extra arguments go to scripts/demo.ts,
# e.g. `--seconds 120`; Ctrl-C stops it all.
# The node exists once per machine: scripts/demo.ts takes the node lock (flock
# /tmp/minefleet-node.flock) itself and waits for it, so do not wrap this script in that flock (the
# nested flock would wait for its own parent forever). The e2e tier takes no flock: it refuses to
# start while another node runs ("a minefleet node is already running"); run it as
# `flock /tmp/minefleet-node.flock npx vitest run --project e2e` to queue it behind a demo.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "[demo] provision real components"
bash scripts/provision.sh
echo "[demo] build and image (npm run image: npm run build, then buildah without a registry)"
bash scripts/image.sh
exec npx tsx scripts/demo.ts "$@"
