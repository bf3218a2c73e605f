#!/usr/bin/env bash
# The whole test run behind `make test`: unit and spec suites, then a private PostgreSQL and
# Redis for the integration, end-to-end and browser suites; the services are stopped even on
# failure. Usage: scripts/test.sh BUILD
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
status=0
step() { echo; echo "######## $*"; }
# What the suites print also goes to a log, from which the closing line sums them up.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
	"$@" 2>&1 | tee -a "$log"
	return "${PIPESTATUS[0]}"
}

step unit
run "$here/run-suite.sh" "$build" unit || status=1
if [ -x "$build/bin/wasm-spec" ]; then
	step spec
	run "$here/spec.sh" "$build" "${SHARED:-$here/../../shared}/wasm-spec" || status=1
fi

step services
svc=$("$here/services.sh" start) || { echo "could not start services" >&2; exit 1; }
eval "$svc"
trap '"$here/services.sh" stop; rm -f "$log"' EXIT INT TERM
for s in integration e2e; do
	step "$s"
	run "$here/run-suite.sh" "$build" "$s" || status=1
done
if [ -f "$here/../web/tests/run.sh" ]; then
	step browser
	run bash "$here/../web/tests/run.sh" "$build" || status=1
fi
echo
if [ $status -eq 0 ]; then echo "ALL SUITES PASSED"; else echo "SOME SUITES FAILED"; fi
# libcheck "N%: Checks: C, Failures: F, Errors: E", the spec total "P passed, F failed, S skipped"
# and node's "ℹ pass N" / "ℹ fail N", added up.
awk '
	/^[0-9]+%: Checks: / { gsub(",", ""); c += $3; f += $5 + $7 }
	/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { c += $1 + $3; f += $3; sk += $5 }
	/^ℹ pass [0-9]+$/ { c += $3 }
	/^ℹ fail [0-9]+$/ { c += $3; f += $3 }
	END { printf "tests: %d passed, %d failed, %d skipped\n", c - f, f, sk }' "$log"
exit $status
