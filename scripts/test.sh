#!/usr/bin/env bash
# The whole test run behind `make test`: unit and spec suites, then a private PostgreSQL and
# Redis for the integration, end-to-end and browser suites; the services are stopped even on
# failure. Usage: scripts/test.sh BUILD
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
status=0
step() { echo; echo "######## $*"; }

step unit
"$here/run-suite.sh" "$build" unit || status=1
if [ -x "$build/bin/wasm-spec" ]; then
	step spec
	"$here/spec.sh" "$build" "${SHARED:-$here/../../shared}/wasm-spec" || status=1
fi

step services
svc=$("$here/services.sh" start) || { echo "could not start services" >&2; exit 1; }
eval "$svc"
trap '"$here/services.sh" stop' EXIT INT TERM
for s in integration e2e; do
	step "$s"
	"$here/run-suite.sh" "$build" "$s" || status=1
done
if [ -f "$here/../web/tests/run.sh" ]; then
	step browser
	bash "$here/../web/tests/run.sh" "$build" || status=1
fi
echo
if [ $status -eq 0 ]; then echo "ALL SUITES PASSED"; else echo "SOME SUITES FAILED" >&2; fi
exit $status
