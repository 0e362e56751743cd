# syntax=docker/dockerfile:1
# adcreative: the bot (`start`) and the CLIP inference server (`serve-clip`) in one image.
#
#   docker build -t adcreative .                                   # CPU (slim Debian runtime)
#   docker build --build-arg RUNTIME=gpu -t adcreative:gpu .       # NVIDIA GPU through WebGPU over Vulkan: the
#                                                                  # provider ships in onnxruntime-node, nothing
#                                                                  # downloaded; the image adds the Vulkan loader
#   docker run --gpus 'all,capabilities=compute,utility,graphics' -v ./models:/models:ro \
#     -e CLIP_MODEL_DIR=/models/clip-vit-base-patch32 adcreative:gpu serve-clip
#   docker build --build-arg RUNTIME=cuda -t adcreative:cuda .     # the alternative: ONNX Runtime's CUDA provider
#                                                                  # (CUDA 12 + cuDNN 9 base; the build fetches the
#                                                                  # provider from NuGet: needs network)
#
# WebGPU needs the NVIDIA driver's Vulkan ICD inside the container: the NVIDIA Container Toolkit
# mounts it only when NVIDIA_DRIVER_CAPABILITIES includes `graphics` (set below; `--gpus` with
# capabilities=… or compose's device capabilities override it).
#
# Multi-stage: native modules (better-sqlite3, sharp, onnxruntime-node, LanceDB) install in
# the build stage from the lockfile, dev dependencies left out; the runtime stage carries
# node_modules, the TypeScript sources (run through tsx, no build step), fonts for ad
# composition (incl. CJK) and nothing else. It runs as an unprivileged user; state lives in
# the /data volume (SQLite, LanceDB, variant images) unless DATABASE_URL / LANCEDB_URI say
# otherwise. Model weights are never baked in: mount them (see README "Deploying").
ARG NODE_VERSION=20
# cpu | gpu (WebGPU over Vulkan) | cuda (CUDA provider)
ARG RUNTIME=cpu

# ---------------------------------------------------------------- build
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app
ARG RUNTIME
COPY package.json package-lock.json ./
# onnxruntime-node's install script only downloads the CUDA provider: package.json's allowScripts
# denies it (npm >= 11.16) and ONNXRUNTIME_NODE_INSTALL=skip does the same for older npm; the cuda
# image then runs it on purpose for CUDA 12 (npm run install-cuda; the build needs network for NuGet).
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund \
 && if [ "$RUNTIME" = "cuda" ]; then ONNXRUNTIME_NODE_INSTALL=cuda12 npm run install-cuda; fi \
 && npm cache clean --force
COPY tsconfig.json ./
COPY src ./src
COPY bin ./bin
COPY brands ./brands
COPY models/README.md models/manifest.json ./models/

# ---------------------------------------------------------------- runtimes
FROM node:${NODE_VERSION}-bookworm-slim AS runtime-cpu

FROM node:${NODE_VERSION}-bookworm-slim AS runtime-gpu
# The Vulkan loader and the GL-vendor libraries the NVIDIA ICD (libGLX_nvidia, mounted by the
# container toolkit) links against; the ICD manifest that points the loader at it, as NVIDIA's
# own Vulkan images write it. The driver itself always comes from the host.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libx11-6 libxext6 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/share/vulkan/icd.d \
 && printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3"}}\n' > /usr/share/vulkan/icd.d/nvidia_icd.json
ENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics CLIP_DEVICE=auto \
    UV_THREADPOOL_SIZE=32

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 AS runtime-cuda
# The CUDA base has no Node.js: the official binary is self-contained (glibc, libstdc++ only).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
ENV CLIP_DEVICE=cuda UV_THREADPOOL_SIZE=32

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
