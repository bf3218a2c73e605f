#!/usr/bin/env bash
# bench/edge: wrk against one edge-agent serving the hello handler (fresh instance per request),
# beside the same agent's admin /healthz in the same run; then the agent's RSS idle and with 100
# modules loaded. Usage: bench/edge/run.sh BUILD SHARED [SECONDS] [CONNECTIONS]
set -eu
build=$(cd "$1" && pwd)
secs=${3:-10}
conns=${4:-16}
bin="$build/bench/edge/edge_bench"
for need in "$bin" "$build/bin/edge-agent" "$build/guests/hello_handler.wasm"; do
	if [ ! -e "$need" ]; then
		echo "bench/edge: $need not built (make BUILD=$build all)" >&2
		exit 1
	fi
done
command -v wrk >/dev/null || { echo "bench/edge: wrk is not installed (scripts/deps.sh --bench)" >&2; exit 1; }
"$bin" "$build" "$secs" "$conns"
