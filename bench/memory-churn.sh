#!/usr/bin/env bash
# Memory-tier churn: hits on objects that fit cache.memory.max-item-size but not all at once in
# cache.memory.max-size, so most hits are disk hits that each try a promotion (TieredCache: the
# entry is read whole after it is served and offered to W-TinyLFU, which often turns it away).
# Compares settings side by side in one run; each one on a fresh kura and S3Proxy origin.
#
#   bench/memory-churn.sh                      # the three settings below
#   SETTINGS="16MiB:4MiB 16MiB:1MiB" bench/memory-churn.sh
#
# A setting is MEMORY_MAX:MEMORY_ITEM. The defaults: 16MiB:4MiB (30 objects of 4,000,000 bytes
# churn through a tier that holds 4: every disk hit promotes), 16MiB:1MiB (the objects are too big
# for the tier: disk hits only, no promotion) and 256MiB:4MiB (all of them fit: memory hits only).
# OBJECTS, OBJECT_SIZE, CONNS, WARMUP, DURATION override; ZERO_COPY=off|memory|all and
# TRANSPORT=epoll|io_uring|nio set serve.zero-copy and serve.transport; SKIP_BUILD=1 skips the build.
# Needs wrk, curl (Debian: apt-get install -y wrk curl). Prints one line per setting: wrk's req/s,
# latency and timeouts, and kura's hit counters by tier.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

bench_require wrk curl
objects="${OBJECTS:-30}"
size="${OBJECT_SIZE:-4000000}"
conns="${CONNS:-32}"
warmup="${WARMUP:-8s}"
duration="${DURATION:-12s}"
origin_port=19200 kura_port=18280 ops_port=18290

run_setting() {
  local memory_max="$1" memory_item="$2"
  bench_init memory-churn
  bench_start_origin "$origin_port"
  bench_kura_yaml "$kura_port" "$ops_port" "$origin_port" 1h "max-size: 4GiB" "max-item-size: 4GiB" \
    "memory:" "  max-size: $memory_max" "  max-item-size: $memory_item"
  bench_serve_env
  bench_start_kura "$ops_port"
  head -c "$size" /dev/urandom >"$work/object"
  for i in $(seq 1 "$objects"); do
    curl -sf -T "$work/object" "http://127.0.0.1:$origin_port/bench/o$i.bin" -o /dev/null
    curl -sf "http://127.0.0.1:$kura_port/bench/o$i.bin" -o /dev/null
  done
  cat >"$work/random.lua" <<LUA
math.randomseed(os.time())
request = function() return wrk.format("GET", "/bench/o" .. math.random(1, $objects) .. ".bin") end
LUA
  wrk -t2 -c"$conns" -d"$warmup" -s "$work/random.lua" "http://127.0.0.1:$kura_port/" >/dev/null
  wrk -t2 -c"$conns" -d"$duration" -s "$work/random.lua" "http://127.0.0.1:$kura_port/" >"$work/wrk.txt"
  local rps mean timeouts hits
  rps="$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")"
  mean="$(awk '/Latency/ {print $2}' "$work/wrk.txt")"
  timeouts="$(sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$work/wrk.txt")"
  hits="$(curl -s "http://127.0.0.1:$ops_port/metrics" | sed -n 's/^kura_cache_\(hits\|promotions_skipped\)_total{tier="\([a-z]*\)"} \([0-9.]*\)/\1.\2=\3/p' | tr '\n' ' ')"
  printf 'memory %-7s item %-5s  %9s req/s  mean latency %-9s timeouts %-3s  %s\n' \
    "$memory_max" "$memory_item" "$rps" "$mean" "${timeouts:-0}" "$hits"
  bench_cleanup
  trap - EXIT
  SKIP_BUILD=1 # built once
}

for setting in ${SETTINGS:-16MiB:4MiB 16MiB:1MiB 256MiB:4MiB}; do
  run_setting "${setting%%:*}" "${setting##*:}"
done
