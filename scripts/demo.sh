#!/usr/bin/env bash
# One command on a fresh machine: install dependencies, obtain the real components, build, and run
# the local demo (control plane, litecoind regtest + Stratum pool, FerretDB, Prometheus, operator,
# one miner). Extra arguments go to scripts/demo.ts, e.g. `--seconds 120`; Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "[demo] provision real components"
bash scripts/provision.sh
echo "[demo] build"
npm run --silent build
exec npx tsx scripts/demo.ts "$@"
