#!/usr/bin/env bash
# Browser tests of the dashboard: web/tests/run.sh BUILD
# Playwright (playwright-core from npm) drives Debian's /usr/bin/chromium against a real
# `edgeplane serve` from BUILD/bin and simulated agents. Needs the private services of
# scripts/services.sh (EDGEPLANE_DATABASE_URL, EDGEPLANE_REDIS_URL); when they are not set, this
# script starts its own and stops them after. Screenshots: BUILD/web-screenshots/.
# Skips (exit 0) only when Chromium is not installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: web/tests/run.sh BUILD}" && pwd)

if [ ! -x /usr/bin/chromium ]; then
	echo "browser tests SKIPPED: /usr/bin/chromium is not installed (apt-get install chromium)"
	exit 0
fi
for tool in node npm psql; do
	command -v "$tool" >/dev/null || { echo "browser tests: $tool is missing" >&2; exit 1; }
done
[ -x "$build/bin/edgeplane" ] || { echo "browser tests: $build/bin/edgeplane is not built" >&2; exit 1; }

if [ ! -d "$here/node_modules/playwright-core" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
		|| { echo "browser tests: npm ci failed in $here" >&2; exit 1; }
fi

if [ -z "${EDGEPLANE_DATABASE_URL:-}" ] || [ -z "${EDGEPLANE_REDIS_URL:-}" ]; then
	svc=$("$top/scripts/services.sh" start)
	eval "$svc"
	trap '"$top/scripts/services.sh" stop' EXIT INT TERM
fi

export EDGEPLANE_TOP="$top" EDGEPLANE_BUILD="$build" EDGEPLANE_BIN="$build/bin" \
       WEB_SCREENSHOTS="$build/web-screenshots"
rm -rf "$WEB_SCREENSHOTS"
mkdir -p "$WEB_SCREENSHOTS"
cd "$here"
status=0
node --test --test-reporter=spec --test-concurrency=1 dashboard.test.mjs || status=$?
echo "screenshots: $WEB_SCREENSHOTS"
exit $status
