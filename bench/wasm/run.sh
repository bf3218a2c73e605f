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

mkdir -p "$out"
cp "$src"/*.c "$src"/Makefile "$out"/
make -s -C "$out" all >/dev/null

# A median wall time (seconds) of ROUNDS runs: hyperfine when present, else a date +%s%N loop.
median_time() {
	if command -v hyperfine >/dev/null; then
		local csv; csv=$(mktemp)
		hyperfine -N --style none --warmup 1 --runs "$rounds" --export-csv "$csv" "$*" >/dev/null 2>&1
		awk -F, 'NR==2 { printf "%.6f\n", $4 }' "$csv"
		rm -f "$csv"
	else
		local ts=() t0 t1
		for _ in $(seq "$rounds"); do
			t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
			ts+=($(( t1 - t0 )))
		done
		printf '%s\n' "${ts[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.6f\n", a[int((NR + 1) / 2)] / 1e9 }'
	fi
}

cd "$out"
printf '%-14s %12s %12s %9s  %s\n' program native_s wasm_s ratio output
geo_sum=0; geo_n=0
for spec in "fib 35" "fib 32" "sha" "nbody" "sort" "hello" "big"; do
	set -- $spec
	prog=$1; shift
	args=("$@")
	env=(env REQUEST_METHOD=GET PATH_INFO=/bench)
	wenv=(--env REQUEST_METHOD=GET --env PATH_INFO=/bench)
	# Same output natively and in the engine?
	if [ "$prog" = hello ]; then
		n_out=$("${env[@]}" "./$prog.native" "${args[@]}" | sha256sum)
		w_out=$("$wasmrun" "${wenv[@]}" "$prog.wasm" "${args[@]}" | sha256sum)
	else
		n_out=$("./$prog.native" "${args[@]}" | sha256sum)
		w_out=$("$wasmrun" "$prog.wasm" "${args[@]}" | sha256sum)
	fi
	same=same; [ "$n_out" = "$w_out" ] || same=DIFFERENT
	if [ "$prog" = hello ]; then
		tn=$(median_time "${env[@]}" "./$prog.native")
		tw=$(median_time "$wasmrun" "${wenv[@]}" "$prog.wasm")
	else
		tn=$(median_time "./$prog.native" "${args[@]}")
		tw=$(median_time "$wasmrun" "$prog.wasm" "${args[@]}")
	fi
	ratio=$(awk -v a="$tw" -v b="$tn" 'BEGIN { printf "%.2f", b > 0 ? a / b : 0 }')
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
