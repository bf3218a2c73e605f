#!/usr/bin/env bash
# Runs the converted WebAssembly spec tests, then our own tests/spec/*.wast: scripts/spec.sh BUILD WASM_SPEC_DIR
# Lists every .wast that wast2json could not convert, with the reason, then runs wasm-spec on
# all the others. A failing command fails the suite unless it is listed in
# tests/spec/known_failures.txt (one "file.wast:line reason" per line; # starts a comment);
# known failures are printed, never hidden, and a listed entry that now passes is reported so
# the list can shrink.
set -u
build=$1; src=$2
top=$(cd "$(dirname "$0")/.." && pwd)
known="$top/tests/spec/known_failures.txt"
shopt -s nullglob
if [ ! -d "$src" ]; then
	echo "spec: $src not found (shared/ must sit beside the checkout)" >&2; exit 1
fi
nwast=$(ls "$src"/*.wast 2>/dev/null | wc -l)
nunconv=0
for u in "$build"/spec/*.unconverted; do
	n=$(basename "$u" .unconverted)
	echo "spec: $n.wast not converted by wast2json: $(grep -m1 -E 'error|Assertion' "$u" || head -n 1 "$u")"
	nunconv=$((nunconv + 1))
done
jsons=("$build"/spec/*/*.json)
[ ${#jsons[@]} -gt 0 ] || { echo "spec: nothing converted (make spec-convert runs wast2json)" >&2; exit 1; }
echo "spec: $nwast .wast files, $((nwast - nunconv)) converted, $nunconv not converted (listed above)"

# wabt 1.0.32 predates two syntax forms the newer test files use: table instructions without a
# table index in folded form ("(table.get (local.get 0))", "table.size)") and a folded "if" whose
# condition has several instructions. For those files only, a copy with the default index made
# explicit (0) and that one "if" unfolded is converted in BUILD/spec-adapted and run as well,
# reported under its own name. Nothing else is changed; the copies live in the build folder.
adapted=()
for u in "$build"/spec/*.unconverted; do
	n=$(basename "$u" .unconverted)
	d="$build/spec-adapted/$n"
	rm -rf "$d"; mkdir -p "$d"
	perl -pe 's/\((table\.(?:get|set|fill|grow|size))(\s*[()])/($1 0$2/g; s/table\.size\)/table.size 0)/g;
		  s/\(if \(i32\.const 1\) \(i32\.eqz\) \(then\) \(else\)\)/i32.const 1 i32.eqz (if (then) (else))/' \
		"$src/$n.wast" > "$d/$n-adapted.wast"
	# (in a child shell, so that a crash of wast2json is logged rather than reported by bash)
	if bash -c 'cd "$1" && wast2json "$2.wast" -o "$2.json"; exit $?' _ "$d" "$n-adapted" >"$d/log" 2>&1; then
		echo "spec: $n.wast converted after adapting its syntax for wabt (run as $n-adapted.wast)"
		adapted+=("$d/$n-adapted.json")
	else
		rm -rf "$d"
	fi
done
jsons+=("${adapted[@]}")

# Our own spec-format tests (tests/spec/*.wast: the interpreter's fast forms, fused pairs, ...)
# run beside the official ones; a file wabt cannot convert fails the suite.
for w in "$top"/tests/spec/*.wast; do
	n=$(basename "$w" .wast)
	d="$build/spec-own/$n"
	rm -rf "$d"; mkdir -p "$d"
	if ! (cd "$d" && wast2json "$w" -o "$n.json") >"$d/log" 2>&1; then
		echo "spec: tests/spec/$n.wast does not convert: $(head -n 1 "$d/log")" >&2; exit 1
	fi
	jsons+=("$d/$n.json")
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/bin/wasm-spec" "${jsons[@]}" | tee "$out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0

# Some command failed (or wasm-spec crashed): compare with the known failures.
if ! grep -q '^FAIL ' "$out"; then
	echo "spec: wasm-spec exited with $rc without reporting a failure (crash?)" >&2
	exit 1
fi
new=0
while read -r _ where _; do
	if [ -f "$known" ] && grep -v '^#' "$known" | grep -q -F -- "$where "; then
		echo "spec: known failure $where"
	else
		echo "spec: NEW failure $where"
		new=$((new + 1))
	fi
done < <(grep '^FAIL ' "$out")
if [ -f "$known" ]; then
	while read -r where _; do
		grep -q -F -- "FAIL $where " "$out" || echo "spec: $where is listed as a known failure but passes now"
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$known")
fi
[ "$new" -eq 0 ] || { echo "spec: $new new failure(s)" >&2; exit 1; }
exit 0
