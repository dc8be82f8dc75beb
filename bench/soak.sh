#!/usr/bin/env bash
# Soak test of kura serve: mixed load for a while, RSS / fds / threads / errors every 10 s.
#   bench/soak.sh                 # 10 minutes at 150 requests/s
#   DURATION=180 RATE=150 bench/soak.sh
# Starts an S3Proxy origin (anonymous, bucket 'bench') and kura serve --config in front of it, as
# separate processes on 127.0.0.1, and drives them from bench/soak_load.py (python3, standard library
# only). The mix: cache hits of 4 KiB and 1 MiB objects, single ranges, HEAD, If-None-Match, 200
# objects of 64 KiB with a 2 s TTL (so revalidations and refills run all the time), keys the origin
# does not have (404), made-up methods (405), and clients that leave in the middle of a 1 MiB body.
# Every 10 s it prints kura's RSS, open fds, threads, requests done and errors by kind; at the end
# the RSS growth per minute after the first minute (the issue's goal: < 16 MiB/min).
# First, bench/slow_client.py: a normal client's first byte on an uncached 64 MiB object, alone and
# beside a client reading the same object at 10 KiB/s (SLOW_CLIENT=0 skips it).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

duration="${DURATION:-600}"
rate="${RATE:-150}"
origin_port="${ORIGIN_PORT:-19100}"
kura_port="${KURA_PORT:-18180}"
kura_ops_port="${KURA_OPS_PORT:-18190}"
command -v python3 >/dev/null || { echo "bench/soak.sh: python3 is missing" >&2; exit 1; }

bench_init soak
large=2; [ "${SLOW_CLIENT:-1}" = 0 ] && large=0
bench_start_origin "$origin_port" -Dkura.origin.soak-objects=200 -Dkura.origin.large-objects=$large

bench_kura_yaml "$kura_port" "$kura_ops_port" "$origin_port" 2s "max-size: 1GiB" "memory:" "  max-size: 64MiB"
bench_start_kura "$kura_ops_port"
echo "soak: kura pid $kura_pid, $rate requests/s for $duration s ($(nproc) CPUs, $(uname -r), shared machine: figures are indicative)"
if [ "$large" -gt 0 ]; then   # issue 10's slow-client check, before the soak (SLOW_CLIENT=0 skips it)
  python3 "$root/bench/slow_client.py" --port "$kura_port"
fi
python3 "$root/bench/soak_load.py" --port "$kura_port" --ops-port "$kura_ops_port" --pid "$kura_pid" \
  --duration "$duration" --rate "$rate"
echo "soak: kura log lines: $(wc -l <"$work/kura.log") ($(grep -c WARN "$work/kura.log" || true) WARN, $(grep -c ERROR "$work/kura.log" || true) ERROR)"
grep -E "WARN|ERROR" "$work/kura.log" | sort | uniq -c | sort -rn | head -5 || true
