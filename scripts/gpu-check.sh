#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU and no Node.js installed: runs the benchmark's sections
# with a carried node binary, first on the CPU (wasm + onnxruntime CPU, the reference), then on the
# GPU paths that can start here — tfjs' webgpu backend (needs the optional `webgpu` and
# `@tensorflow/tfjs-backend-webgpu` packages and a Vulkan driver) and onnxruntime's CUDA provider
# (needs its provider library: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm i onnxruntime-node` where the
# network allows, plus the CUDA 12 / cuDNN 9 runtime) — and prints the same tables for each.
#
# usage: scripts/gpu-check.sh [--node PATH] [--out DIR] [--cpu-only] [-- bench flags…]
#   --node PATH   the node binary to use (default: $RAEV2_NODE, node on PATH, ./node/bin/node, ./.node/bin/node)
#   --out DIR     where the JSON reports go (default outputs/gpu-check)
#   --cpu-only    only the CPU pass (what a machine without a GPU can check)
#   bench flags   passed to `bench/index.ts` (default: --only dit-train,sampling,decoder)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_BIN="${RAEV2_NODE:-}"
OUT="$ROOT/outputs/gpu-check"
CPU_ONLY=0
BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --node) NODE_BIN="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --cpu-only) CPU_ONLY=1; shift ;;
    --) shift; BENCH_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#BENCH_ARGS[@]} -eq 0 ] && BENCH_ARGS=(--only dit-train,sampling,decoder)

# ---- a node binary (carried: this machine may have none)
if [ -z "$NODE_BIN" ]; then
  for c in "$(command -v node 2>/dev/null || true)" "$ROOT/node/bin/node" "$ROOT/.node/bin/node"; do
    if [ -n "$c" ] && [ -x "$c" ]; then NODE_BIN="$c"; break; fi
  done
fi
if [ -z "$NODE_BIN" ] || ! "$NODE_BIN" --version >/dev/null 2>&1; then
  echo "gpu-check: no usable node binary (give --node PATH or RAEV2_NODE; carry one as ./node/bin/node)" >&2
  exit 2
fi
NODE_MAJOR="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt 20 ]; then echo "gpu-check: node $("$NODE_BIN" --version) is too old (need >= 20)" >&2; exit 2; fi
if [ ! -d "$ROOT/node_modules/tsx" ]; then echo "gpu-check: $ROOT/node_modules is missing (carry the installed checkout, or run npm ci)" >&2; exit 2; fi
mkdir -p "$OUT"
echo "gpu-check: node $("$NODE_BIN" --version) at $NODE_BIN; reports in $OUT"

bench() { # bench <label> <json> [ENV=VALUE…] — one benchmark pass
  local label="$1" json="$2"; shift 2
  echo
  echo "==================== $label ===================="
  env "$@" RAEV2_QUIET=1 "$NODE_BIN" --conditions=@raev2/source --import tsx "$ROOT/bench/index.ts" --no-cpu "${BENCH_ARGS[@]}" --json "$json"
}

cd "$ROOT"
bench "CPU: wasm + onnxruntime (cpu provider)" "$OUT/cpu.json" RAEV2_BACKEND=wasm RAEV2_ORT_PROVIDER=cpu

if [ "$CPU_ONLY" = 1 ]; then echo; echo "gpu-check: --cpu-only: GPU passes skipped"; exit 0; fi
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo; echo "gpu-check: no NVIDIA GPU found (nvidia-smi missing or failing): only the CPU pass ran"; exit 0
fi
echo; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu-check: GPU /'

# ---- onnxruntime CUDA provider
CUDA_OK="$("$NODE_BIN" --conditions=@raev2/source --import tsx -e "import('@raev2/core').then(c => console.log(c.cudaProviderInstalled() ? 'yes' : 'no'))" 2>/dev/null || echo no)"
if [ "$CUDA_OK" != yes ] && [ "${RAEV2_GPU_CHECK_INSTALL:-1}" = 1 ]; then
  echo "gpu-check: onnxruntime's CUDA provider is not installed; trying ONNXRUNTIME_NODE_INSTALL=cuda12 (needs the network)"
  (cd "$ROOT/node_modules/onnxruntime-node" && ONNXRUNTIME_NODE_INSTALL=cuda12 "$NODE_BIN" script/install.js) || echo "gpu-check: the CUDA provider download failed"
  CUDA_OK="$("$NODE_BIN" --conditions=@raev2/source --import tsx -e "import('@raev2/core').then(c => console.log(c.cudaProviderInstalled() ? 'yes' : 'no'))" 2>/dev/null || echo no)"
fi
if [ "$CUDA_OK" = yes ]; then
  bench "GPU: onnxruntime CUDA provider (tfjs on wasm)" "$OUT/ort-cuda.json" RAEV2_BACKEND=wasm RAEV2_ORT_PROVIDER=cuda
else
  echo; echo "gpu-check: skipped the onnxruntime CUDA pass (provider library not installed)"
fi

# ---- tfjs webgpu backend (optional packages)
if "$NODE_BIN" -e "require.resolve('webgpu'); require.resolve('@tensorflow/tfjs-backend-webgpu')" >/dev/null 2>&1; then
  bench "GPU: tfjs webgpu backend (+ onnxruntime webgpu provider)" "$OUT/webgpu.json" RAEV2_BACKEND=webgpu RAEV2_ORT_PROVIDER=webgpu
else
  echo; echo "gpu-check: skipped the webgpu pass (npm i webgpu @tensorflow/tfjs-backend-webgpu to add it)"
fi
echo; echo "gpu-check: done; JSON reports in $OUT"
