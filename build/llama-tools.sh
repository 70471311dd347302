#!/usr/bin/env bash
# Builds llama.cpp's llama-server and llama-bench from the source node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle, a git bundle of the exact release its
# binaries come from), with no download. The build is cached outside the clone, keyed by the
# llama.cpp commit and CPU level: ${ENCLAVE_LLAMA_CACHE:-~/.cache/enclave-llama}/<commit>-<level>/bin.
# Prints the folder holding the binaries. About 10 minutes on 2 cores the first time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "llama-tools: $bundle is missing (run npm install)" >&2; exit 1; }
commit="$(git bundle list-heads "$bundle" | awk 'NR==1{print $1}')"
# Not GGML_NATIVE: a native build here ran generation but died with "Illegal instruction" on
# prompt processing. This CPU's AVX2 level is used when it has it (not AVX-512), else the
# baseline; the cache is keyed by that too. A build of every CPU variant with run-time choice
# (GGML_BACKEND_DL, as node-llama-cpp's binaries are) hung here at llama-server's first
# evaluation of a Q4_1 model with its AMX variant, while llama-bench of the same build ran.
flags=()
level=base
if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo && grep -qw bmi2 /proc/cpuinfo; then
  flags=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
  level=avx2
fi
cache="${ENCLAVE_LLAMA_CACHE:-$HOME/.cache/enclave-llama}/$commit-$level"
if [ -x "$cache/bin/llama-server" ] && [ -x "$cache/bin/llama-bench" ]; then echo "$cache/bin"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.lock"; flock 9
if [ -x "$cache/bin/llama-server" ] && [ -x "$cache/bin/llama-bench" ]; then echo "$cache/bin"; exit 0; fi
rm -rf "$cache/src" "$cache/build"
git clone -q "$bundle" "$cache/src" >&2
git -C "$cache/src" checkout -q "$commit" >&2
cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF "${flags[@]}" \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$cache/build" --config Release -j "$(nproc)" --target llama-server llama-bench >&2
mkdir -p "$cache/bin"
cp "$cache/build/bin/llama-server" "$cache/build/bin/llama-bench" "$cache/bin/"
rm -rf "$cache/build" "$cache/src"
echo "$cache/bin"
