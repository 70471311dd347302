#!/usr/bin/env bash
# Builds llama.cpp's llama-server and llama-bench from the source node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle, a git bundle of the exact release its
# binaries come from), with no download. The build is cached outside the clone, keyed by the
# llama.cpp commit: ${ENCLAVE_LLAMA_CACHE:-~/.cache/enclave-llama}/<commit>-cpu-variants/bin.
# Prints the folder holding the binaries. About 20 minutes on 2 cores the first time (every CPU variant).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bundle="$root/node_modules/node-llama-cpp/llama/gitRelease.bundle"
[ -f "$bundle" ] || { echo "llama-tools: $bundle is missing (run npm install)" >&2; exit 1; }
commit="$(git bundle list-heads "$bundle" | awk 'NR==1{print $1}')"
# Not GGML_NATIVE (a native build here ran generation but died with "Illegal instruction" on
# prompt processing): every CPU variant is built and the one this CPU runs is chosen at start,
# as node-llama-cpp's own binaries do (an AVX2-only build generated at half their speed).
cache="${ENCLAVE_LLAMA_CACHE:-$HOME/.cache/enclave-llama}/$commit-cpu-variants"
if [ -x "$cache/bin/llama-server" ] && [ -x "$cache/bin/llama-bench" ]; then echo "$cache/bin"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.lock"; flock 9
if [ -x "$cache/bin/llama-server" ] && [ -x "$cache/bin/llama-bench" ]; then echo "$cache/bin"; exit 0; fi
rm -rf "$cache/src" "$cache/build"
git clone -q "$bundle" "$cache/src" >&2
git -C "$cache/src" checkout -q "$commit" >&2
cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \
  -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
# ggml depends on every CPU variant's module, so they are built with the two tools.
cmake --build "$cache/build" --config Release -j "$(nproc)" --target llama-server llama-bench >&2
# Installed whole or not at all: the folder is checked (it loads a CPU variant) before it is named bin.
rm -rf "$cache/bin.new"
cp -a "$cache/build/bin" "$cache/bin.new"
"$cache/bin.new/llama-server" --version >&2
mv "$cache/bin.new" "$cache/bin"
rm -rf "$cache/build" "$cache/src"
echo "$cache/bin"
