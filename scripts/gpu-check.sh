#!/usr/bin/env bash
# CLIP on a GPU host, measured in one short call: the CLIP benchmark (raw session.run, encoder,
# end to end; fp32, fp16, 8-bit pixels; the host's CPU provider as the peer), a serve-clip load
# test against raw session.run and the CPU provider, and a sweep of WebGPU session options,
# each written as a results file. GPU hosts here are offline and have no Node.js, so what runs
# there is packed here first.
#
#   scripts/gpu-check.sh pack              # here: .gpu-check/ = node, the npm packages it needs, Debian's Vulkan loader
#   scripts/gpu-check.sh run               # on the GPU host, from the repository root, with $OUT set: results under $OUT
#   scripts/gpu-check.sh --cpu-only [DIR]  # here: pack if needed, then the whole run on the CPU (tiny model) in a
#                                          # clean copy of the working tree under DIR, to check the script itself
#
# On the device runner: carry .gpu-check, run `bash scripts/gpu-check.sh run` (it stays under ~8 minutes:
# unpack ~15 s, model generation ~1 min, benchmark ~4 min, serve ~1.5 min, sweep with what is left).
# Environment: DEVICE (webgpu; cuda where its provider libraries are installed), BUDGET_S (total seconds, 460),
# GPU_WORK (scratch folder, default a temp dir), GPU_CHECK_PACK (the pack, default .gpu-check).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PACK=${GPU_CHECK_PACK:-$ROOT/.gpu-check}
T0=$(date +%s)
say() { echo "[gpu-check +$(($(date +%s) - T0))s] $*"; }
left() { echo $((BUDGET_S - ($(date +%s) - T0))); }
# Seconds a step may take: what is left less a reserve, never under 10.
upto() {
  local s=$(($(left) - $1))
  ((s < 10)) && s=10
  echo $s
}

pack() {
  mkdir -p "$PACK"
  say "packing into $PACK"
  (cd "$ROOT" && node --import tsx scripts/gpu-check/pack.ts "$PACK")
}

# The Vulkan loader where the host lacks it, without replacing any library the host has: the
# packed debs are unpacked into the scratch folder and only the missing libraries are linked
# onto LD_LIBRARY_PATH. Then the NVIDIA driver's ICD manifest, wherever the driver put it.
vulkan_setup() {
  local W=$1
  mkdir -p "$W/vk" "$W/vklib"
  for d in "$PACK"/debs/*.deb; do dpkg -x "$d" "$W/vk"; done
  local have
  have=$(ldconfig -p 2>/dev/null || true)
  for f in "$W"/vk/usr/lib/x86_64-linux-gnu/*.so*; do
    [[ -e $f ]] || continue
    if ! grep -q "$(basename "$f") " <<<"$have"; then ln -sf "$f" "$W/vklib/"; fi
  done
  export LD_LIBRARY_PATH="$W/vklib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "libraries added from the packed debs: $(ls "$W/vklib" | tr '\n' ' ')"
  local icd=""
  for dir in /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d /usr/local/nvidia/icd.d; do
    [[ -f $dir/nvidia_icd.json ]] && icd=$dir/nvidia_icd.json && break
  done
  if [[ -n $icd && -z ${VK_DRIVER_FILES:-} ]]; then
    # The loader searches /usr/share and /etc itself; a container toolkit's /usr/local/nvidia it does not.
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  fi
  [[ -d /usr/local/nvidia/lib64 ]] && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/usr/local/nvidia/lib64"
  [[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]] &&
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  say "Vulkan driver manifest: ${icd:-none found} (VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset})"
}

run() {
  : "${OUT:?set OUT to the folder the results go to}"
  mkdir -p "$OUT"
  exec > >(tee -a "$OUT/gpu-check.log") 2>&1
  DEVICE=${DEVICE:-webgpu}
  BUDGET_S=${BUDGET_S:-460}
  local W=${GPU_WORK:-$(mktemp -d)}
  mkdir -p "$W"
  cd "$ROOT"
  [[ -f $PACK/manifest.json ]] || { echo "no pack at $PACK: run scripts/gpu-check.sh pack first (and carry it)"; exit 2; }

  say "unpacking node and the npm packages"
  xz -dc "$PACK/node.xz" >"$W/node" && chmod +x "$W/node"
  local NODE=$W/node
  if [[ ! -e node_modules/onnxruntime-node/package.json ]]; then
    rm -rf node_modules && tar -xJf "$PACK/node_modules.tar.xz" -C "$ROOT"
  fi
  "$NODE" --version

  if [[ $DEVICE != cpu ]]; then vulkan_setup "$W"; fi
  {
    echo "date: $(date -u +%FT%TZ)"
    echo "cores: $(nproc)"
    echo "memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu: /'
    echo "device: $DEVICE"
    echo "VK_DRIVER_FILES: ${VK_DRIVER_FILES:-unset}"
  } | tee "$OUT/host.txt"
  export GPU_NAME
  GPU_NAME=$(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name --format=csv,noheader | head -1 || echo none)
  # sharp decodes on libuv's pool: as many threads as the preprocessing pool, and then some.
  export UV_THREADPOOL_SIZE=$(($(nproc) + 4))
  export LOG_LEVEL=${LOG_LEVEL:-warn}

  local MODEL=$W/clip-${ARCH:-vit-b-32}
  local bench=("$NODE" --import tsx bench/run.ts)
  local clipArgs=(--device "$DEVICE" --model "$MODEL" --arch "${ARCH:-vit-b-32}" --rgb8 --precisions fp32,fp16 --no-gemm)
  local serveArgs=(--device "$DEVICE" --model "$MODEL")
  if [[ ${QUICK:-} == 1 ]]; then
    clipArgs+=(--quick --batches 8 --images 16 --no-text --no-peer)
    serveArgs+=(--quick --seconds 3 --clients 4 --images-per-request 2 --against-peers)
  else
    clipArgs+=(--batches 8,32,128,256 --images 512)
    serveArgs+=(--seconds 20 --clients 32 --images-per-request 16)
  fi

  say "CLIP benchmark on $DEVICE (generates the synthetic model, its fp16 and 8-bit-pixel files first)"
  timeout "$(upto 120)" "${bench[@]}" clip "${clipArgs[@]}" --out "$OUT/clip-$DEVICE.json" ||
    say "bench clip failed or ran out of time (exit $?)"
  if (($(left) > 60)); then
    say "serve-clip load test on $DEVICE"
    timeout "$(upto 10)" "${bench[@]}" serve "${serveArgs[@]}" --out "$OUT/serve-$DEVICE.json" ||
      say "bench serve failed or ran out of time (exit $?)"
  fi
  # Headroom: WebGPU session options on the best configuration, one short run each, while time lasts.
  if [[ $DEVICE == webgpu ]]; then
    local i=0
    for opts in "" "preferredLayout=NHWC" "validationMode=disabled" "preferredLayout=NHWC,validationMode=disabled" "storageBufferCacheMode=bucket"; do
      (($(left) > 45)) || break
      say "WebGPU options sweep: '${opts:-defaults}'"
      CLIP_WEBGPU_OPTIONS=$opts timeout "$(upto 5)" "${bench[@]}" clip --device webgpu --model "$MODEL" --precisions fp16 --rgb8 \
        --batches 256 --images 512 --quick --no-peer --out "$OUT/sweep-$i.json" || say "sweep '$opts' failed (exit $?)"
      i=$((i + 1))
    done
  fi
  say "done; results: $(cd "$OUT" && ls | tr '\n' ' ')"
}

cpu_only() {
  local dir=${1:-$(mktemp -d)}
  [[ -f $PACK/manifest.json ]] || pack
  mkdir -p "$dir/repo" "$dir/out"
  # A clean copy of the working tree as the device runner makes it: tracked and untracked files
  # that git does not ignore (so no node_modules), plus the pack.
  (cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$dir/repo"
  cp -r "$PACK" "$dir/repo/.gpu-check"
  say "dry run on the CPU in $dir/repo (results in $dir/out)"
  (cd "$dir/repo" && OUT="$dir/out" DEVICE=cpu ARCH=tiny QUICK=1 BUDGET_S=${BUDGET_S:-900} GPU_WORK="$dir/work" \
    GPU_CHECK_PACK="$dir/repo/.gpu-check" bash scripts/gpu-check.sh run)
  for f in clip-cpu.json serve-cpu.json; do
    [[ -s $dir/out/$f ]] || { echo "dry run: $f was not written"; exit 1; }
  done
  say "dry run passed: $(ls "$dir/out" | tr '\n' ' ')"
}

case ${1:-} in
pack) pack ;;
run) run ;;
--cpu-only) cpu_only "${2:-}" ;;
*)
  sed -n '2,18p' "$0"
  exit 2
  ;;
esac
