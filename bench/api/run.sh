#!/usr/bin/env bash
# bench/api: the REST API under load on loopback. wrk against GET /v1/tenants/{t}/modules (50
# modules) and GET /healthz in the same run (req/s, p50, p99, and the ratio of each to
# /healthz), then the time to upload and store a 1 MiB module. Starts its own PostgreSQL +
# Redis (scripts/services.sh) and one `edgeplane serve` on a fresh database.
# Usage: bench/api/run.sh BUILD SHARED [SECONDS] [CONNECTIONS]
set -eu
build=$(cd "$1" && pwd)
secs=${3:-10}
conns=${4:-32}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$build/bench/api/bench_api"
ep="$build/bin/edgeplane"
for f in "$bin" "$ep"; do
	[ -x "$f" ] || { echo "bench/api: $f not built (make BUILD=$build all)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "bench/api: wrk is not installed (scripts/deps.sh --bench)" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export EDGEPLANE_SERVICES_DIR=$(mktemp -d /tmp/edgeplane-benchapi.XXXXXX)
work=$(mktemp -d /tmp/edgeplane-benchapi-work.XXXXXX)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	"$top/scripts/services.sh" stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
eval "$("$top/scripts/services.sh" start)"
# A port nobody listens on (other benches and test servers share the machine), below the
# ephemeral range (32768+) where outgoing connections take ports.
for _ in $(seq 1 50); do
	port=$(( 20000 + RANDOM % 12700 ))
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
export EDGEPLANE_LISTEN="127.0.0.1:$port" EDGEPLANE_SIGNING_KEY="$work/signing.key"
"$ep" keygen --out "$EDGEPLANE_SIGNING_KEY" >/dev/null 2>&1
"$ep" migrate >/dev/null 2>&1
token=$("$ep" token create --role admin --name bench 2>/dev/null | head -1)
"$ep" serve >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "edgeplane serve: $("$ep" config | grep -E 'HTTP_THREADS|DB_POOL_SIZE' | tr '\n' ' ')"
if ! "$bin" "http://127.0.0.1:$port" "$token" "$secs" "$conns"; then
	echo "bench/api failed; the server's log ends with:" >&2
	tail -5 "$work/serve.log" >&2
	exit 1
fi
