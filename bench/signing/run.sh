#!/usr/bin/env bash
# bench/signing: signatures/s, verifications/s and SHA-256 MB/s over a 10 MiB module, each
# beside libsodium's own primitive measured in the same run (ratio close to 1 is the goal).
# Usage: bench/signing/run.sh BUILD SHARED [SECONDS_PER_FIGURE]
set -eu
build=$1
secs=${3:-1}
bin="$build/bench/signing/bench_signing"
if [ ! -x "$bin" ]; then
	echo "bench/signing: $bin not built (make BUILD=$build bench-build)" >&2
	exit 1
fi
"$bin" "$secs"
