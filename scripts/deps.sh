#!/usr/bin/env bash
# Installs the Debian packages Edgeplane needs, only when some are missing.
# Quiet when nothing is missing. Usage: scripts/deps.sh [--bench] [--browser]
set -euo pipefail

pkgs=(build-essential pkg-config libmicrohttpd-dev libpq-dev libjansson-dev libsodium-dev
      libhiredis-dev check libcurl4-openssl-dev postgresql redis-server
      clang lld wasi-libc libclang-rt-14-dev-wasm32 libclang-rt-14-dev wabt curl)
for a in "$@"; do
	case "$a" in
	--bench) pkgs+=(wrk hyperfine valgrind) ;;
	--browser) pkgs+=(chromium nodejs npm) ;;
	*) echo "deps.sh: unknown option $a" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	# nodejs/npm may come from outside Debian; a working binary is enough.
	case "$p" in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
