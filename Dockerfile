# syntax=docker/dockerfile:1
# adcreative: the bot (`start`) and the CLIP inference server (`serve-clip`) in one image.
#
#   docker build -t adcreative .                                   # CPU (slim Debian runtime)
#   docker build --build-arg RUNTIME=cuda -t adcreative:cuda .     # GPU host: CUDA 12 + cuDNN 9 runtime,
#                                                                  # ONNX Runtime's CUDA provider installed
#   docker run --gpus all -e CLIP_DEVICE=cuda -v models:/app/models adcreative:cuda serve-clip
#
# Multi-stage: native modules (better-sqlite3, sharp, onnxruntime-node, LanceDB) install in
# the build stage from the lockfile, dev dependencies left out; the runtime stage carries
# node_modules, the TypeScript sources (run through tsx, no build step), fonts for ad
# composition (incl. CJK) and nothing else. It runs as an unprivileged user; state lives in
# the /data volume (SQLite, LanceDB, variant images) unless DATABASE_URL / LANCEDB_URI say
# otherwise. Model weights are never baked in: mount them (see README "Deploying").
ARG NODE_VERSION=20
ARG RUNTIME=cpu

# ---------------------------------------------------------------- build
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
ARG RUNTIME
COPY package.json package-lock.json ./
# onnxruntime-node's install script only downloads the CUDA provider: package.json's allowScripts
# denies it (npm >= 11.16) and ONNXRUNTIME_NODE_INSTALL=skip does the same for older npm; the cuda
# image then runs it on purpose (npm run install-cuda).
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund \
 && if [ "$RUNTIME" = "cuda" ]; then npm run install-cuda; fi \
 && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY brands ./brands
COPY models/README.md models/manifest.json ./models/

# ---------------------------------------------------------------- runtimes
FROM node:${NODE_VERSION}-bookworm-slim AS runtime-cpu

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 AS runtime-cuda
# The CUDA base has no Node.js: the official binary is self-contained (glibc, libstdc++ only).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV CLIP_DEVICE=cuda

# ---------------------------------------------------------------- final
FROM runtime-${RUNTIME} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates fontconfig fonts-dejavu-core fonts-liberation fonts-lato fonts-noto-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 adcreative \
 && useradd --system --uid 10001 --gid adcreative --home-dir /app --shell /usr/sbin/nologin adcreative \
 && mkdir -p /data && chown adcreative:adcreative /data
WORKDIR /app
COPY --from=build --chown=root:root /app /app
ENV NODE_ENV=production DATA_DIR=/data PORT=3000 SERVE_CLIP_PORT=8000 LANCEDB_LOG=error
USER adcreative
VOLUME ["/data"]
EXPOSE 3000 8000
# /healthz on PORT for the bot; compose overrides it for serve-clip (/v2/health/live on 8000).
# Node itself does the check: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and gets SIGTERM itself (the bot drains in-flight rounds; see SHUTDOWN_GRACE_SECONDS).
ENTRYPOINT ["node", "--import", "tsx", "/app/src/cli.ts"]
CMD ["start"]
