#!/usr/bin/env bash
# A private PostgreSQL 15 and Redis on free loopback ports in a temp folder.
#   scripts/services.sh start        start both; prints shell `export` lines to eval
#   scripts/services.sh env          print the export lines of the running services
#   scripts/services.sh stop         stop exactly what start started, remove the folder
#   scripts/services.sh pg-stop|pg-start|redis-stop|redis-start   (for failure tests)
#   scripts/services.sh pg-pause|pg-resume   freeze / thaw PostgreSQL (SIGSTOP/SIGCONT of the
#                                            postmaster and its backends): a server that
#                                            accepts connections but never answers
# The folder is $EDGEPLANE_SERVICES_DIR (start sets it when unset).
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
cmd=${1:-}
dir=${EDGEPLANE_SERVICES_DIR:-}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
	local p i
	for i in $(seq 1 200); do
		# Below the ephemeral range (32768+), where outgoing connections take ports.
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12700 ))
		if port_free "$p"; then echo "$p"; return 0; fi
	done
	echo "services.sh: no free port" >&2; return 1
}
need_dir() {
	if [ -z "$dir" ] || [ ! -f "$dir/env" ]; then
		echo "services.sh: EDGEPLANE_SERVICES_DIR is not set to a started folder" >&2; exit 1
	fi
	# shellcheck disable=SC1091
	. "$dir/env"
}
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_start() {
	[ -f "$dir/pg/postmaster.pid" ] && return 0
	as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/pglog/pg.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $dir/pg -c fsync=off -c max_connections=300" \
		start >/dev/null
}
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true; }
# The postmaster and its backends, by pid (nothing else is signalled).
pg_pids() {
	local pm
	pm=$(head -1 "$dir/pg/postmaster.pid" 2>/dev/null) || return 0
	[ -n "$pm" ] || return 0
	echo "$pm" $(pgrep -P "$pm" || true)
}
pg_signal() {
	local pids; pids=$(pg_pids)
	[ -n "$pids" ] || { echo "services.sh: PostgreSQL is not running" >&2; return 1; }
	# shellcheck disable=SC2086
	kill "-$1" $pids
}
redis_start() {
	redis-server --port "$REDISPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir" >/dev/null
	local i
	for i in $(seq 1 100); do
		redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "services.sh: redis did not start (see $dir/redis.log)" >&2; return 1
}
redis_stop() {
	if [ -f "$dir/redis.pid" ]; then
		local pid; pid=$(cat "$dir/redis.pid")
		kill "$pid" 2>/dev/null || true
		local i
		for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		rm -f "$dir/redis.pid"
	fi
}
print_env() {
	echo "export EDGEPLANE_SERVICES_DIR=$dir"
	echo "export EDGEPLANE_DATABASE_URL=postgresql://postgres@127.0.0.1:$PGPORT/edgeplane"
	echo "export EDGEPLANE_REDIS_URL=redis://127.0.0.1:$REDISPORT"
	echo "export EDGE_AGENT_REDIS_URL=redis://127.0.0.1:$REDISPORT"
}

case "$cmd" in
start)
	if [ -z "$dir" ]; then dir=$(mktemp -d /tmp/edgeplane-svc.XXXXXX); fi
	mkdir -p "$dir"; chmod 755 "$dir"
	PGPORT=$(free_port); REDISPORT=$(free_port)
	while [ "$REDISPORT" = "$PGPORT" ]; do REDISPORT=$(free_port); done
	printf 'PGPORT=%s\nREDISPORT=%s\n' "$PGPORT" "$REDISPORT" > "$dir/env"
	mkdir -p "$dir/pg" "$dir/pglog"
	[ "$(id -u)" -ne 0 ] || chown postgres "$dir/pg" "$dir/pglog"
	chmod 700 "$dir/pg"
	as_pg "$PGBIN/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
		|| { cat "$dir/initdb.log" >&2; exit 1; }
	pg_start
	as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres edgeplane
	redis_start
	print_env
	;;
env) need_dir; print_env ;;
stop)
	need_dir
	pg_signal CONT 2>/dev/null || true  # a paused server could not be stopped
	redis_stop
	pg_stop
	rm -rf "$dir"
	;;
pg-stop) need_dir; pg_stop ;;
pg-start) need_dir; pg_start ;;
pg-pause) need_dir; pg_signal STOP ;;
pg-resume) need_dir; pg_signal CONT ;;
redis-stop) need_dir; redis_stop ;;
redis-start) need_dir; redis_start ;;
*) echo "usage: scripts/services.sh start|env|stop|pg-stop|pg-start|pg-pause|pg-resume|redis-stop|redis-start" >&2; exit 2 ;;
esac
