#!/usr/bin/env bash
# Wasm runtime benchmark (issue 4 "Measured"): builds the guest programs of SHARED/bench/wasm with
# their own Makefile into BUILD/bench/wasm/progs, runs each under BUILD/bin/wasmrun and natively in
# the same run, and prints the times, the ratio to native and the geometric mean of the compute
# programs (fib 35, sha, nbody, sort). Then BUILD/bench/wasm/inst measures, inside one process,
# instantiate+run of hello.wasm and load+validate+compile of big.wasm.
# Usage: bench/wasm/run.sh BUILD SHARED      (ROUNDS=N to change the number of timed runs)
set -euo pipefail
build=$(cd "$1" && pwd); shared=$(cd "$2" && pwd)
src="$shared/bench/wasm"
out="$build/bench/wasm/progs"
wasmrun="$build/bin/wasmrun"
inst="$build/bench/wasm/inst"
rounds=${ROUNDS:-5}
[ -x "$wasmrun" ] || { echo "no $wasmrun (build it first: make BUILD=... all)" >&2; exit 1; }

# The fast forms of the interpreter must be right before their speed means anything.
forms=$(dirname "$0")/../../tests/spec/forms.wast
if command -v wast2json >/dev/null && [ -x "$build/bin/wasm-spec" ] && [ -f "$forms" ]; then
	mkdir -p "$build/bench/wasm/forms"
	wast2json "$forms" -o "$build/bench/wasm/forms/forms.json"
	"$build/bin/wasm-spec" "$build/bench/wasm/forms/forms.json" | tail -1 | grep -q ' 0 failed' ||
		{ echo "tests/spec/forms.wast fails: not timing a broken interpreter" >&2; exit 1; }
fi

mkdir -p "$out"
cp "$src"/*.c "$src"/Makefile "$out"/
make -s -C "$out" all >/dev/null

# Wall times (seconds, one per line) of one run of each given command, run one after the other:
# hyperfine -N when present (no shell in between), else date +%s%N around the command.
time_once() {
	if command -v hyperfine >/dev/null; then
		local csv; csv=$(mktemp)
		hyperfine -N --style none --runs 1 --export-csv "$csv" "$@" >/dev/null 2>&1
		awk -F, 'NR > 1 { printf "%.6f\n", $2 }' "$csv"
		rm -f "$csv"
	else
		local c t0 t1
		for c in "$@"; do
			t0=$(date +%s%N); $c >/dev/null 2>&1; t1=$(date +%s%N)
			awk -v d=$(( t1 - t0 )) 'BEGIN { printf "%.6f\n", d / 1e9 }'
		done
	fi
}

median() { sort -n | awk '{ a[NR] = $1 } END { printf "%.6f\n", a[int((NR + 1) / 2)] }'; }

# Median times of native and wasm over `rounds` interleaved rounds (the machine is shared and
# its load drifts: interleaving keeps each ratio fair). Prints "native wasm".
pair_times() {
	local native=$1 wasm=$2 n r tn=() tw=()
	for r in $(seq "$3"); do
		mapfile -t n < <(time_once "$native" "$wasm")
		tn+=("${n[0]}"); tw+=("${n[1]}")
	done
	echo "$(printf '%s\n' "${tn[@]}" | median) $(printf '%s\n' "${tw[@]}" | median)"
}

cd "$out"
# hello reads its request from the environment: natively from ours (no extra `env` process in
# the timing), in the engine from --env flags.
export REQUEST_METHOD=GET PATH_INFO=/bench
wenv=(--env REQUEST_METHOD=GET --env PATH_INFO=/bench)
printf '%-14s %12s %12s %9s  %s\n' program native_s wasm_s ratio output
geo_sum=0; geo_n=0
for spec in "fib 35" "fib 32" "sha" "nbody" "sort" "hello" "big"; do
	set -- $spec
	prog=$1; shift
	args=("$@")
	# Same output natively and in the engine?
	n_out=$("./$prog.native" "${args[@]}" | sha256sum)
	w_out=$("$wasmrun" "${wenv[@]}" "$prog.wasm" "${args[@]}" | sha256sum)
	same=same; [ "$n_out" = "$w_out" ] || same=DIFFERENT
	# Start-up programs are short: many more rounds.
	r=$rounds; case $prog in hello|big) r=$((rounds * 20));; esac
	read -r tn tw < <(pair_times "$out/$prog.native ${args[*]:-}" \
		"$wasmrun ${wenv[*]} $out/$prog.wasm ${args[*]:-}" "$r")
	ratio=$(awk -v a="$tw" -v b="$tn" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
	printf '%-14s %12s %12s %8sx  %s\n' "$prog ${args[*]:-}" "$tn" "$tw" "$ratio" "$same"
	case "$spec" in
	"fib 35"|sha|nbody|sort)
		geo_sum=$(awk -v s="$geo_sum" -v r="$ratio" 'BEGIN { printf "%.6f", s + log(r) }')
		geo_n=$((geo_n + 1)) ;;
	esac
done
awk -v s="$geo_sum" -v n="$geo_n" 'BEGIN { printf "geomean (fib 35, sha, nbody, sort): %.2fx native (target <= 8x)\n", exp(s / n) }'

if [ -x "$inst" ]; then
	"$inst" "$out/hello.wasm" "$out/big.wasm"
else
	echo "no $inst (make BUILD=... bench-build)" >&2
fi
