# syntax=docker/dockerfile:1
# One image for both programs (WORKDIR /app holds package.json and dist/):
#   operator (default): node dist/operator/minefleet-operator.mjs [--flags]
#   miner:              node dist/miner/src/main.js run --config /etc/minefleet/miner.yaml
# The operator puts the miner command into the pods it creates
# (operator/src/controllers/minerfleet/desired/workload.ts, MINER_COMMAND), which replaces the
# entrypoint below; both paths are relative to WORKDIR.
#
# The image packages artifacts built outside it (no RUN step, so no network is needed inside
# the build): the context is made by `bash scripts/image.sh --context-only` (.cache/image/context:
# dist/, production node_modules, package.json, build/ with any native addon).
#   here:      npm run image   (buildah, on a base made from this machine's Node, no registry)
#   elsewhere: docker build -f Dockerfile .cache/image/context   (public node base)
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="minefleet" \
      org.opencontainers.image.description="Kubernetes operator and miner for fleets of scrypt miners" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/minefleet/minefleet"
ENV NODE_ENV=production
WORKDIR /app
# Files stay root-owned and read-only to the process: it runs with a read-only root filesystem.
COPY node_modules ./node_modules
COPY package.json ./
COPY dist ./dist
COPY build ./build
# Numeric, so that the kubelet can verify runAsNonRoot; the same UID the operator sets for
# miner pods (MINER_UID in operator/src/controllers/minerfleet/desired/device.ts) and the chart
# sets for the operator.
USER 65532:65532
# operator: metrics 8080, probes 8081; miner: metrics, health and readiness on 9100
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/operator/minefleet-operator.mjs"]
