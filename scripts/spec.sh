#!/usr/bin/env bash
# Runs the converted WebAssembly spec tests: scripts/spec.sh BUILD WASM_SPEC_DIR
# Lists every .wast that wast2json could not convert, with the reason, then runs wasm-spec on
# all the others; any failed command fails the suite.
set -u
build=$1; src=$2
shopt -s nullglob
if [ ! -d "$src" ]; then
	echo "spec: $src not found (shared/ must sit beside the checkout)" >&2; exit 1
fi
for u in "$build"/spec/*.unconverted; do
	n=$(basename "$u" .unconverted)
	echo "spec: $n.wast not converted by wast2json: $(head -n 1 "$u")"
done
jsons=("$build"/spec/*/*.json)
[ ${#jsons[@]} -gt 0 ] || { echo "spec: nothing converted" >&2; exit 1; }
exec "$build/bin/wasm-spec" "${jsons[@]}"
