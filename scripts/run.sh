#!/usr/bin/env bash
# The whole system on this machine (what `make run` runs after building):
#   scripts/run.sh BUILD [--exit-after-check]
# Starts a private PostgreSQL + Redis, the control plane (keygen, migrate, admin token, serve),
# one PoP with one agent, a tenant `demo` owning `demo.localhost`, pushes and deploys the example
# handler BUILD/guests/hello_handler.wasm, asks it over HTTP through the agent, and prints the
# lines to try. Ctrl-C stops everything it started. With --exit-after-check it stops everything
# right after the check and exits 0 when the example answered, non-zero otherwise.
# Ports are free loopback ports chosen here; pin them with EDGEPLANE_RUN_CP_PORT,
# EDGEPLANE_RUN_EDGE_PORT and EDGEPLANE_RUN_ADMIN_PORT. EDGEPLANE_RUN_DIR sets the work folder
# (default: a new temporary folder, removed at the end).
set -euo pipefail

usage() { echo "usage: scripts/run.sh BUILD [--exit-after-check]" >&2; exit 2; }
[ $# -ge 1 ] || usage
build=$1; shift
exit_after_check=0
for a in "$@"; do
	case "$a" in
	--exit-after-check) exit_after_check=1 ;;
	"") ;;
	*) usage ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build folder $1" >&2; exit 2; }
bin=$build/bin
guest=$build/guests/hello_handler.wasm
for p in edgeplane edge-agent edgectl; do
	[ -x "$bin/$p" ] || { echo "run.sh: $bin/$p is missing (run make first)" >&2; exit 1; }
done
[ -f "$guest" ] || { echo "run.sh: $guest is missing (built from tests/guests/hello_handler.c)" >&2; exit 1; }

# ---- bookkeeping: everything started here is stopped by cleanup, by pid, and nothing else ----
own_dir=0
if [ -n "${EDGEPLANE_RUN_DIR:-}" ]; then
	dir=$EDGEPLANE_RUN_DIR; mkdir -p "$dir"
	# A kept folder from an earlier run: its database is gone, so start from scratch.
	rm -rf "$dir/services" "$dir/agent-state" "$dir/signing.key" "$dir/trusted.keys" \
		"$dir/edgeplane.log" "$dir/agent.log" "$dir/keygen.out"
else
	dir=$(mktemp -d /tmp/edgeplane-run.XXXXXX); own_dir=1
fi
# PostgreSQL runs as the postgres user when we are root: it must be able to reach its folder.
chmod 755 "$dir"
cp_pid=""; agent_pid=""; services_started=0

stop_pid() { # pid: TERM, up to 10 s, then KILL
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleaned=0
cleanup() {
	[ $cleaned -eq 0 ] || return 0
	cleaned=1
	trap - INT TERM EXIT
	echo "run.sh: stopping" >&2
	stop_pid "$agent_pid"
	stop_pid "$cp_pid"
	if [ $services_started -eq 1 ]; then
		EDGEPLANE_SERVICES_DIR=$dir/services "$top/scripts/services.sh" stop || true
	fi
	if [ $own_dir -eq 1 ]; then rm -rf "$dir"; fi
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

fail() {
	echo "run.sh: $*" >&2
	for log in "$dir/edgeplane.log" "$dir/agent.log"; do
		if [ -f "$log" ]; then echo "---- last lines of $log" >&2; tail -n 20 "$log" >&2; fi
	done
	exit 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Ports below the kernel's ephemeral range, so an outgoing connection cannot hold the one we
# pick; a port another program grabs meanwhile is handled by starting again on a new one.
eph_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$eph_low" -gt 21000 ] 2>/dev/null || eph_low=32768
taken_ports=" "
pick_port() { # VAR: sets VAR to a free port not handed out before in this run
	local p i
	for i in $(seq 1 200); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % (eph_low - 20000) ))
		case "$taken_ports" in *" $p "*) continue ;; esac
		if port_free "$p"; then taken_ports="$taken_ports$p "; printf -v "$1" '%s' "$p"; return 0; fi
	done
	echo "run.sh: no free port" >&2; return 1
}
# Waits until url answers 2xx; gives up early when process pid has exited.
wait_up() { # url pid seconds
	local i
	for i in $(seq 1 $(( $3 * 10 ))); do
		curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
step() { echo "==> $*" >&2; }

# ---- services ----------------------------------------------------------------------------------
step "starting PostgreSQL and Redis"
# Our own folder, even when the caller has services of its own (e.g. under make test).
export EDGEPLANE_SERVICES_DIR=$dir/services
# services.sh picks its ports itself; one taken by someone else in the meantime makes a start
# fail, so clear up and try again a few times.
svc=""
for attempt in 1 2 3; do
	services_started=1
	if svc=$("$top/scripts/services.sh" start); then break; fi
	svc=""
	"$top/scripts/services.sh" stop >/dev/null 2>&1 || true
	rm -rf "$EDGEPLANE_SERVICES_DIR"
	services_started=0
	echo "run.sh: PostgreSQL/Redis did not start (attempt $attempt); trying again" >&2
done
[ -n "$svc" ] || fail "could not start PostgreSQL and Redis"
eval "$svc"

export EDGEPLANE_SIGNING_KEY=$dir/signing.key
export EDGEPLANE_WEB_ROOT=${EDGEPLANE_WEB_ROOT:-$top/web}

# ---- control plane -----------------------------------------------------------------------------
step "control plane: keygen, migrate, admin token"
"$bin/edgeplane" keygen --out "$EDGEPLANE_SIGNING_KEY" > "$dir/keygen.out" 2>>"$dir/edgeplane.log" \
	|| fail "edgeplane keygen failed"
"$bin/edgeplane" migrate >>"$dir/edgeplane.log" 2>&1 || fail "edgeplane migrate failed"
admin_token=$("$bin/edgeplane" token create --role admin --name run-admin 2>>"$dir/edgeplane.log" | head -n 1) \
	|| fail "edgeplane token create failed"
case "$admin_token" in ept_*) ;; *) fail "edgeplane token create printed no token" ;; esac
# setsid: a Ctrl-C in the terminal reaches this script only, which then stops the programs in
# order (agent first) instead of them racing to exit on their own.
for attempt in 1 2 3 4 5; do
	cp_port=${EDGEPLANE_RUN_CP_PORT:-}
	[ -n "$cp_port" ] || pick_port cp_port
	cp_url=http://127.0.0.1:$cp_port
	EDGEPLANE_LISTEN=127.0.0.1:$cp_port setsid "$bin/edgeplane" serve >>"$dir/edgeplane.log" 2>&1 &
	cp_pid=$!
	wait_up "$cp_url/healthz" "$cp_pid" 30 && break
	stop_pid "$cp_pid"; cp_pid=""
	# Only a port taken meanwhile is worth another try, and only when we chose it.
	[ -z "${EDGEPLANE_RUN_CP_PORT:-}" ] || break
done
[ -n "$cp_pid" ] || fail "the control plane did not become healthy"
step "control plane serving on $cp_url"

export EDGECTL_URL=$cp_url EDGECTL_TOKEN=$admin_token
ctl() { "$bin/edgectl" "$@"; }

# ---- a PoP and its agent -------------------------------------------------------------------------
step "PoP 'local' and its agent"
ctl pops create local --region local >/dev/null || fail "could not create the PoP"
agent_token=$(ctl tokens create --role agent --pop local --name local-agent | head -n 1) \
	|| fail "could not create the agent token"
case "$agent_token" in ept_*) ;; *) fail "no agent token" ;; esac
# The trust file: every signing key the control plane publishes (GET /v1/keys).
ctl keys list --trust-file > "$dir/trusted.keys" || fail "could not read the signing keys"
grep -q '^[0-9a-f]\{16\} ' "$dir/trusted.keys" || fail "no signing key in GET /v1/keys"

mkdir -p "$dir/agent-state"
for attempt in 1 2 3 4 5; do
	edge_port=${EDGEPLANE_RUN_EDGE_PORT:-}
	[ -n "$edge_port" ] || pick_port edge_port
	admin_port=${EDGEPLANE_RUN_ADMIN_PORT:-}
	[ -n "$admin_port" ] || pick_port admin_port
	EDGE_AGENT_CONTROL_PLANE=$cp_url EDGE_AGENT_TOKEN=$agent_token \
	EDGE_AGENT_REDIS_URL=$EDGEPLANE_REDIS_URL EDGE_AGENT_LISTEN=127.0.0.1:$edge_port \
	EDGE_AGENT_ADMIN_LISTEN=127.0.0.1:$admin_port EDGE_AGENT_STATE_DIR=$dir/agent-state \
	EDGE_AGENT_TRUSTED_KEYS=$dir/trusted.keys \
		setsid "$bin/edge-agent" >>"$dir/agent.log" 2>&1 &
	agent_pid=$!
	wait_up "http://127.0.0.1:$admin_port/healthz" "$agent_pid" 30 && break
	stop_pid "$agent_pid"; agent_pid=""
	[ -z "${EDGEPLANE_RUN_EDGE_PORT:-}${EDGEPLANE_RUN_ADMIN_PORT:-}" ] || break
done
[ -n "$agent_pid" ] || fail "the agent did not become healthy"
step "agent serving edge traffic on 127.0.0.1:$edge_port"
# Every process this script is responsible for, so that a person (or a test) can check that
# Ctrl-C left none of them behind.
pg_pid=$(head -n 1 "$EDGEPLANE_SERVICES_DIR/pg/postmaster.pid" 2>/dev/null || true)
redis_pid=$(cat "$EDGEPLANE_SERVICES_DIR/redis.pid" 2>/dev/null || true)
step "processes: postgres=${pg_pid:-?} redis=${redis_pid:-?} edgeplane=$cp_pid edge-agent=$agent_pid"

# ---- the example -------------------------------------------------------------------------------
step "tenant 'demo' with domain demo.localhost; pushing and deploying hello_handler.wasm"
ctl tenants create demo --name "Demo tenant" >/dev/null || fail "could not create the tenant"
export EDGECTL_TENANT=demo
ctl domains add demo.localhost >/dev/null || fail "could not add the domain"
ctl modules create hello >/dev/null || fail "could not create the module"
ctl versions push "$guest" --module hello --label example || fail "could not push the module"
ctl routes add --host demo.localhost --path '/*' --module hello >/dev/null || fail "could not add the route"
ctl deploy hello@1 --strategy immediate --wait --timeout 60 || fail "the deployment did not succeed"

step "asking the example through the agent"
answer=""
for i in $(seq 1 50); do
	if answer=$(curl -fsS --max-time 5 -H 'Host: demo.localhost' "http://127.0.0.1:$edge_port/" 2>/dev/null); then
		break
	fi
	answer=""
	sleep 0.2
done
[ -n "$answer" ] || fail "the example did not answer over HTTP"
echo "$answer" | head -n 5

cat <<EOF

Edgeplane is running (work folder $dir).

Try:
  curl -H 'Host: demo.localhost' http://127.0.0.1:$edge_port/
  curl -H 'Host: demo.localhost' 'http://127.0.0.1:$edge_port/some/path?x=1'

  export EDGECTL_URL=$cp_url EDGECTL_TOKEN=$admin_token EDGECTL_TENANT=demo
  $bin/edgectl pops list
  $bin/edgectl versions list --module hello
  $bin/edgectl deployments list
  $bin/edgectl versions push $guest --module hello      # the same bytes: no new version
  $bin/edgectl versions push $build/guests/handler_echo.wasm --module hello --label echo
  $bin/edgectl deploy hello@latest --strategy canary --wait   # waves, 60 s bake each
  $bin/edgectl rollback hello --strategy immediate --wait
  $bin/edgectl audit

  Dashboard: $cp_url/ui/  (sign in with the EDGECTL_TOKEN above)
  API document: $cp_url/v1/openapi.json
  Logs: $dir/edgeplane.log  $dir/agent.log

EOF

if [ $exit_after_check -eq 1 ]; then
	echo "run.sh: the example answered over HTTP; stopping (--exit-after-check)" >&2
	exit 0
fi
echo "Press Ctrl-C to stop everything." >&2
# Wait for a signal, or for either process to die (then stop the rest).
while kill -0 "$cp_pid" 2>/dev/null && kill -0 "$agent_pid" 2>/dev/null; do
	sleep 1
done
fail "a process exited on its own"
