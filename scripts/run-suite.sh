#!/usr/bin/env bash
# Runs every libcheck program of one suite: scripts/run-suite.sh BUILD SUITE
# The programs find the project through EDGEPLANE_* variables set here.
set -u
build=$(cd "$1" && pwd); suite=$2
top=$(cd "$(dirname "$0")/.." && pwd)
export EDGEPLANE_TOP="$top" EDGEPLANE_BUILD="$build" EDGEPLANE_BIN="$build/bin" \
       EDGEPLANE_GUESTS="$build/guests" EDGEPLANE_WEB_ROOT="${EDGEPLANE_WEB_ROOT:-$top/web}"
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120}
failed=()
shopt -s nullglob
for t in "$build/tests/$suite"/*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	echo "== $suite/$(basename "$t")"
	if ! "$t"; then failed+=("$(basename "$t")"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "FAILED in $suite: ${failed[*]}" >&2
	exit 1
fi
echo "== $suite: all passed"
