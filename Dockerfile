# syntax=docker/dockerfile:1
# Multi-stage build: native modules compile in the build stage; the runtime stage carries
# only node_modules, the sources and the fonts composition needs.
#   docker build -t adcreative .
#   docker build --build-arg RUNTIME=cuda -t adcreative:cuda .   # ONNX Runtime CUDA provider
ARG NODE_VERSION=20
ARG RUNTIME=cpu

FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
ARG RUNTIME
COPY package.json package-lock.json .npmrc ./
# CPU images skip onnxruntime-node's CUDA download; the cuda variant fetches CUDA 12 libraries.
RUN if [ "$RUNTIME" = "cuda" ]; then export ONNXRUNTIME_NODE_INSTALL_CUDA=v12; else export ONNXRUNTIME_NODE_INSTALL_CUDA=skip; fi \
 && npm install --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY brands ./brands
COPY models/README.md models/manifest.json ./models/

FROM node:${NODE_VERSION}-bookworm-slim AS runtime-cpu
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 AS runtime-cuda
# The CUDA base has no Node.js: copy it from the official image.
COPY --from=build /usr/local/bin/node /usr/local/bin/node

FROM runtime-${RUNTIME} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-liberation fonts-lato fonts-noto-cjk ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && (id -u node >/dev/null 2>&1 || useradd --create-home --uid 1000 node)
WORKDIR /app
COPY --from=build --chown=node:node /app /app
ENV NODE_ENV=production DATA_DIR=/data PORT=3000
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
ENTRYPOINT ["node", "/app/bin/adcreative.js"]
CMD ["start"]
