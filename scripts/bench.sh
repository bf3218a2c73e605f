#!/usr/bin/env bash
# Runs every benchmark: bench/<name>/run.sh BUILD SHARED, each printing its own figures.
# Usage: scripts/bench.sh BUILD SHARED [NAME...]
set -u
build=$(cd "$1" && pwd); shared=$2; shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for d in "$top"/bench/*/; do names+=("$(basename "$d")"); done
fi
status=0
for n in "${names[@]}"; do
	[ -f "$top/bench/$n/run.sh" ] || continue
	echo "######## bench/$n"
	bash "$top/bench/$n/run.sh" "$build" "$shared" || status=1
done
exit $status
