#!/usr/bin/env bash
# bench/fanout: an "immediate" deployment of a 100 KiB module to N = 100 and N = 1000
# simulated agents (each its own Redis subscription and HTTP client): time from the POST to
# the last agent reporting active, and per-agent p50/p99. Starts its own PostgreSQL + Redis
# (scripts/services.sh) and one `edgeplane serve` per N on a fresh database.
# Usage: bench/fanout/run.sh BUILD SHARED [N...]
set -eu
build=$(cd "$1" && pwd)
shift 2 || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$build/bench/fanout/fanout"
ep="$build/bin/edgeplane"
for f in "$bin" "$ep"; do
	[ -x "$f" ] || { echo "bench/fanout: $f not built (make BUILD=$build all)" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export EDGEPLANE_SERVICES_DIR=$(mktemp -d /tmp/edgeplane-fanout.XXXXXX)
work=$(mktemp -d /tmp/edgeplane-fanout-work.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	"$top/scripts/services.sh" stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
eval "$("$top/scripts/services.sh" start)"
base=${EDGEPLANE_DATABASE_URL%/*}
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
for n in "${sizes[@]}"; do
	port=$(free_port)
	db="fanout_$n"
	psql "$base/postgres" -qc "CREATE DATABASE $db" >/dev/null
	export EDGEPLANE_DATABASE_URL="$base/$db" EDGEPLANE_LISTEN="127.0.0.1:$port" \
	       EDGEPLANE_SIGNING_KEY="$work/key-$n"
	"$ep" keygen --out "$EDGEPLANE_SIGNING_KEY" >/dev/null
	"$ep" migrate >/dev/null 2>&1
	token=$("$ep" token create --role admin --name bench 2>/dev/null | head -1)
	EDGEPLANE_LOG_LEVEL=${FANOUT_LOG_LEVEL:-warn} "$ep" serve >"$work/serve-$n.log" 2>&1 &
	pid=$!
	up=""
	for _ in $(seq 1 200); do
		curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && { up=1; break; }
		sleep 0.1
	done
	[ -n "$up" ] || { echo "bench/fanout: edgeplane did not start:" >&2; tail -20 "$work/serve-$n.log" >&2; exit 1; }
	"$bin" --cp "http://127.0.0.1:$port" --admin "$token" --redis "$EDGEPLANE_REDIS_URL" --agents "$n"
	[ -z "${FANOUT_KEEP_LOG:-}" ] || cp "$work/serve-$n.log" "$FANOUT_KEEP_LOG"
	kill "$pid"; wait "$pid" 2>/dev/null || true
	pid=""
done
