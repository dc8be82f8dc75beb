#!/usr/bin/env bash
# kura serve vs nginx proxy_cache, both in front of the same S3Proxy origin, same machine, same run.
#   bench/serve.sh                 full run: 20 s per point, about 12-15 minutes
#   QUICK=1 bench/serve.sh         small objects, 2 s per point: checks that everything runs
#   (bench/serve.sh --quick is the same as QUICK=1)
# Needs wrk, nginx, curl and python3 (Debian: apt-get install -y wrk nginx curl python3).
#
# Processes, all on this machine: S3Proxy (the origin, filesystem backend); a "limited origin",
# bench/limited_origin.py, a relay in front of S3Proxy that paces each connection at 64 MiB/s, the
# way an S3 connection gives 50-100 MB/s (in front rather than beside: objects, ETags, Range and
# If-Match stay S3Proxy's own, only the rate differs; a relay rather than nginx's `limit_rate`,
# which lets each response's first second's worth, 64 MiB, through unthrottled, so slices and
# ranges would not be limited at all); kura started through ./kura (so the launcher's JVM sizing
# applies, as for a user); nginx with proxy_cache ("/" whole objects, "/slice/" and "/cold/" with
# `slice 1m`). bench/serve_rows.py puts the objects, warms both caches, checks hits, runs wrk and
# the cold curl timings, samples each server's RSS and writes bench-results/serve-<time>.md/.json.
# Rows (64 and 256 connections each): 4 KiB, 1 MiB and 64 MiB objects; a Zipf(0.9) mix over 600
# objects of 1 KiB-8 MiB (557 MiB, more than kura's 256 MiB memory tier); random 256 KiB ranges of
# a 1 GiB object. Cold (origin limited): the last 64 KiB of an uncached 1 GiB object; 8 parallel
# ranges covering an uncached 256 MiB object; one plain GET of another; each via kura, nginx and the
# origin alone. ROWS=4k,1m,big,zipf,range,cold picks rows; DURATION, WARMUP, WRK_THREADS override.
# MEMORY_ITEM=4MiB sets cache.memory.max-item-size (default 1MiB, docs/CONFIG.md);
# ZERO_COPY=memory|all runs kura with serve.zero-copy: memory or all (1 means all; docs/SERVE.md);
# TRANSPORT=epoll|io_uring|nio sets kura's serve.transport (default auto: io_uring).
# SKIP_BUILD=1 skips the Maven build (bench/lib.sh).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

quick="${QUICK:-0}"
[ "${1:-}" = "--quick" ] && quick=1
if [ "$quick" = 1 ]; then
  duration="${DURATION:-2s}"; warmup="${WARMUP:-1s}"; memory_tier=$((16 << 20)); quick_flag=(--quick)
else
  # 15 s of warm-up per server and row: with 5 s, kura's JIT compilers still took 23% of its CPU
  # samples in the measured window (bench/profile-hits.sh, ranges, 2026-12-01); nginx has none.
  duration="${DURATION:-20s}"; warmup="${WARMUP:-15s}"; memory_tier=$((256 << 20)); quick_flag=()
fi
threads="${WRK_THREADS:-2}"
origin_port="${ORIGIN_PORT:-19000}"
limited_port="${LIMITED_PORT:-19001}"
kura_port="${KURA_PORT:-18080}"
kura_ops_port="${KURA_OPS_PORT:-18090}"
nginx_port="${NGINX_PORT:-18081}"

bench_require wrk nginx curl python3
bench_init serve

# 1. The origin: S3Proxy (filesystem backend), anonymous, bucket 'bench' with 4k.bin and 1m.bin;
#    serve_rows.py PUTs the other objects.
bench_start_origin "$origin_port"

# 2. kura in front of it, through the launcher: /bench from S3Proxy, /cold from the limited origin.
bench_kura_yaml "$kura_port" "$kura_ops_port" "$origin_port" 1h "max-size: 16GiB" "max-item-size: 16GiB" \
  "memory:" "  max-size: $memory_tier" ${MEMORY_ITEM:+"  max-item-size: $MEMORY_ITEM"}
bench_bucket /cold "http://127.0.0.1:$limited_port" 1h cold >>"$work/kura.yaml"
bench_serve_env
bench_start_kura "$kura_ops_port"

# 3. The limited origin: a relay in front of S3Proxy pacing each connection at 64 MiB/s (see
#    bench/limited_origin.py for why not nginx's limit_rate: it lets each response's first 64 MiB
#    through unthrottled). Then nginx with proxy_cache, the server under test.
python3 "$root/bench/limited_origin.py" "$limited_port" "$origin_port" $((64 << 20)) >"$work/limited.log" 2>&1 &
pids+=($!)
bench_wait_http "http://127.0.0.1:$limited_port/bench/4k.bin"

{
  bench_nginx_conf_head
  cat <<NGINX
  upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
  upstream limited { server 127.0.0.1:$limited_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port reuseport backlog=4096;
    proxy_http_version 1.1;
    proxy_cache bench;
    proxy_cache_valid 200 206 1h;
    proxy_cache_lock on;
    add_header X-Cache \$upstream_cache_status;
    location / {
      proxy_pass http://origin;
      proxy_set_header Connection "";
    }
    location /slice/ {
      slice 1m;
      proxy_cache_key \$uri\$is_args\$args\$slice_range;
      proxy_set_header Range \$slice_range;
      proxy_set_header Connection "";
      proxy_pass http://origin/;
    }
    location /cold/ {
      slice 1m;
      proxy_cache_key \$uri\$is_args\$args\$slice_range;
      proxy_set_header Range \$slice_range;
      proxy_set_header Connection "";
      proxy_pass http://limited/bench/;
    }
  }
}
NGINX
} >"$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon on;'
bench_wait_http "http://127.0.0.1:$nginx_port/bench/4k.bin"

cpu="$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
transport="$(grep -o 'transport [a-z_]*' "$work/kura.log" | head -1 || true)"
jvm="$(grep -o 'heap max [^,]*' "$work/kura.log" | head -1 || true)"
desc="$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($cpu), Linux $(uname -r), $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), $(nginx -v 2>&1 | sed 's/.*: //'), wrk -t$threads -d$duration (the 64 MiB row at least 60 s) after $warmup warm-up per server and row; kura ${transport:-?} started by ./kura (memory tier $((memory_tier >> 20)) MiB${jvm:+, $jvm}); origin S3Proxy on the same machine$([ "$quick" = 1 ] && echo '; QUICK run: small objects, not a measurement' || true)."
mkdir -p "$root/bench-results"
python3 "$root/bench/serve_rows.py" "${quick_flag[@]}" --work "$work" \
  --results "$root/bench-results/serve-$(date -u +%Y%m%dT%H%M%SZ)" \
  --duration "$duration" --warmup "$warmup" --threads "$threads" \
  --origin-port "$origin_port" --limited-port "$limited_port" \
  --kura-port "$kura_port" --kura-pid "$kura_pid" \
  --nginx-port "$nginx_port" --nginx-pidfile "$work/nginx.pid" \
  --memory-tier "$memory_tier" --rows "${ROWS:-4k,1m,big,zipf,range,cold}" --description "$desc"
