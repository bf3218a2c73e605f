#!/usr/bin/env bash
# Bounded libFuzzer run over the runtime (decode + validate + compile + instantiate + run with small
# fuel): scripts/fuzz.sh [SECONDS]   (default 60; env BUILD=build, JOBS=1)
# Builds tests/fuzz/fuzz_runtime.c with every runtime/*.c into build/fuzz with
# clang -fsanitize=fuzzer,address,undefined, seeds the corpus with the spec suite's modules
# ($BUILD/spec/*/*.wasm, converted here with wast2json if the build has none) and the guests,
# and fails on any crash, sanitizer report, leak or hang (artifacts in build/fuzz/crashes).
set -euo pipefail
seconds=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
shared=${SHARED:-$top/../shared}
out="$top/build/fuzz"
mkdir -p "$out/corpus" "$out/seeds" "$out/crashes"
cd "$top"

command -v clang >/dev/null || { echo "fuzz: clang is required" >&2; exit 1; }
echo "fuzz: building $out/fuzz_runtime"
srcs=$(ls runtime/*.c)
wat2wasm tests/fuzz/spectest.wat -o "$out/spectest.wasm"
(cd "$out" && xxd -i spectest.wasm > spectest_wasm.h)
clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -I. -I"$out" \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	$srcs tests/fuzz/fuzz_runtime.c -o "$out/fuzz_runtime" -lm -pthread

# Seeds: the spec modules of the build (or converted here), and the guests.
nseeds=0
shopt -s nullglob
spec_wasm=("$top/$build"/spec/*/*.wasm)
[ ${#spec_wasm[@]} -gt 0 ] || spec_wasm=("$top"/build/*/spec/*/*.wasm)
if [ ${#spec_wasm[@]} -eq 0 ] && command -v wast2json >/dev/null; then
	echo "fuzz: converting $shared/wasm-spec/*.wast for seeds"
	for w in "$shared"/wasm-spec/*.wast; do
		d="$out/spec/$(basename "$w" .wast)"
		mkdir -p "$d"
		(cd "$d" && wast2json "$w" -o x.json >/dev/null 2>&1) || true
	done
	spec_wasm=("$out"/spec/*/*.wasm)
fi
for f in "${spec_wasm[@]}" "$top/$build"/guests/*.wasm "$top"/build/*/guests/*.wasm; do
	# Names by content, so repeated runs do not pile up copies.
	cp -n "$f" "$out/seeds/$(sha1sum "$f" | cut -c1-16).wasm" 2>/dev/null || true
done
# A few handler outputs for the CGI parser, which sees every input too.
printf 'Content-Type: text/plain\n\nHello\n' > "$out/seeds/cgi-1.txt"
printf 'Status: 404 Not Found\r\nLocation: /x\r\nX-A: b\r\n\r\nbody' > "$out/seeds/cgi-2.txt"
printf 'Location: https://e.example/\nSet-Cookie: a=1\nContent-Length: 3\n\n' > "$out/seeds/cgi-3.txt"
nseeds=$(ls "$out/seeds" | wc -l)
echo "fuzz: $nseeds seed modules; running for ${seconds}s"

# -timeout: one input may not run longer than 10 s (fuel keeps real inputs far below that);
# -rss_limit_mb: the memory cap of the target is 8 MiB per instance.
jobs=""
[ "${JOBS:-1}" -gt 1 ] && jobs="-jobs=$JOBS -workers=$JOBS"
set +e
"$out/fuzz_runtime" "$out/corpus" "$out/seeds" \
	-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=200000 \
	$jobs -print_final_stats=1 \
	-artifact_prefix="$out/crashes/" 2>&1 | tee "$out/fuzz.log" | grep -E "^#[0-9]+.*(DONE|pulse|INITED)|ERROR|SUMMARY|stat::" 
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
	echo "fuzz: FAILED (status $status); see $out/fuzz.log and $out/crashes/" >&2
	exit 1
fi
echo "fuzz: no crash, no sanitizer report, no hang in ${seconds}s"
