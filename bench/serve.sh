#!/usr/bin/env bash
# kura serve vs nginx proxy_cache, both in front of the same S3Proxy origin, same machine, same run.
#   bench/serve.sh            full run (DURATION=20s per point)
#   bench/serve.sh --quick    3 s per point, to check that everything runs
# Needs wrk and nginx (Debian: apt-get install -y wrk nginx). Both caches are warmed first, and
# every measured response is a cache hit (checked before the run). Objects: 4 KiB and 1 MiB;
# connections: 64 and 256; wrk with 2 threads. Prints a Markdown table with requests/s, p50 and p99
# latency and the ratio kura / nginx, and saves it under bench-results/.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# shellcheck source=../scripts/find-jdk.sh
. "$root/scripts/find-jdk.sh"
kura_find_jdk || exit 1

duration="${DURATION:-20s}"
warmup="${WARMUP:-10s}"
if [ "${1:-}" = "--quick" ]; then duration=3s; warmup=3s; fi
threads="${WRK_THREADS:-2}"
origin_port="${ORIGIN_PORT:-19000}"
kura_port="${KURA_PORT:-18080}"
kura_ops_port="${KURA_OPS_PORT:-18090}"
nginx_port="${NGINX_PORT:-18081}"

for t in wrk nginx curl; do
  command -v "$t" >/dev/null || { echo "bench/serve.sh: '$t' is missing (Debian: apt-get install -y wrk nginx curl)" >&2; exit 1; }
done

echo "building kura..." >&2
(cd "$root" && ./mvnw -q -B -ntp -DskipTests package >&2)
cp="$root/kura-cli/target/kura-cli.jar:$root/kura-cli/target/lib/*"

work="$(mktemp -d /tmp/kura-bench-serve.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

wait_http() { # url
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "bench/serve.sh: $1 did not come up" >&2; exit 1
}

# 1. The origin: S3Proxy (filesystem backend), anonymous, bucket 'bench' with 4k.bin and 1m.bin.
"$JAVA_HOME/bin/java" -cp "$cp" dev.kura.s3.embedded.OriginMain "$work/origin" "$origin_port" >"$work/origin.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$origin_port/bench/4k.bin"

# 2. kura in front of it.
cat >"$work/kura.yaml" <<YAML
serve:
  listen: 127.0.0.1:$kura_port
  ops-listen: 127.0.0.1:$kura_ops_port
  access-log: false
  buckets:
    - prefix: /bench
      bucket: bench
      endpoint: http://127.0.0.1:$origin_port
      path-style: true
      credentials: {type: anonymous}
      default-ttl: 1h
YAML
(cd "$work" && exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseZGC ${KURA_JAVA_OPTS:-} \
  -cp "$cp" dev.kura.cli.Kura serve --config "$work/kura.yaml" >"$work/kura.log" 2>&1) &
pids+=($!)
wait_http "http://127.0.0.1:$kura_ops_port/health"

# 3. nginx with proxy_cache in front of the same origin.
mkdir -p "$work/nginx-cache" "$work/nginx-tmp"
user_line=""; [ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$work/nginx.conf" <<NGINX
$user_line
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $work/nginx-tmp/body;
  proxy_temp_path $work/nginx-tmp/proxy;
  fastcgi_temp_path $work/nginx-tmp/fastcgi;
  uwsgi_temp_path $work/nginx-tmp/uwsgi;
  scgi_temp_path $work/nginx-tmp/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=bench:64m max_size=10g inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port reuseport backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_valid 200 206 1h;
      proxy_cache_lock on;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon on;'
wait_http "http://127.0.0.1:$nginx_port/bench/4k.bin"

# 4. Warm both caches and check that the next response is a hit.
for obj in 4k.bin 1m.bin; do
  for port in "$kura_port" "$nginx_port"; do
    for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port/bench/$obj"; done
    status="$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/bench/$obj" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache"{print $2}')"
    [ "$status" = "HIT" ] || { echo "bench/serve.sh: $obj on port $port is not a cache hit after warming (X-Cache: $status)" >&2; exit 1; }
  done
done

# JIT and connection warm-up under load, for both servers alike (not measured).
echo "warming up under load ($warmup per server and object)..." >&2
for obj in 4k.bin 1m.bin; do
  for port in "$kura_port" "$nginx_port"; do
    wrk -t"$threads" -c64 -d"$warmup" "http://127.0.0.1:$port/bench/$obj" >/dev/null
  done
done

# 5. Measure. wrk's latency lines look like "     50%  312.00us"; convert to ms.
to_ms() { awk -v v="$1" 'BEGIN{ n=v; sub(/[a-z]+$/,"",n); u=v; sub(/^[0-9.]+/,"",u);
  f=(u=="us")?0.001:(u=="ms")?1:(u=="s")?1000:(u=="m")?60000:1; printf "%.3f", n*f }'; }
run() { # url conns -> "rps p50ms p99ms"
  local out; out="$(wrk -t"$threads" -c"$2" -d"$duration" --latency "$1")"
  local rps p50 p99
  rps="$(awk '/^Requests\/sec:/{print $2}' <<<"$out")"
  p50="$(awk '$1=="50%"{print $2}' <<<"$out")"
  p99="$(awk '$1=="99%"{print $2}' <<<"$out")"
  local errs; errs="$(awk '/Non-2xx|Socket errors/' <<<"$out")"
  [ -n "$errs" ] && echo "  wrk: $errs ($1, $2 connections)" >&2
  echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
}

cpu="$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
transport="$(grep -o 'transport [a-z_]*' "$work/kura.log" | head -1 || true)"
{
  echo "### kura serve vs nginx proxy_cache (cache hits)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($cpu), Linux $(uname -r), $(nginx -v 2>&1 | sed 's/.*: //'), wrk -t$threads -d$duration after $warmup warm-up per server, kura ${transport:-?}; origin S3Proxy on the same machine."
  echo
  echo "| object | connections | kura req/s | nginx req/s | kura / nginx | kura p50 ms | nginx p50 ms | kura p99 ms | nginx p99 ms |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$work/table.md"
for obj in 4k.bin 1m.bin; do
  for conns in 64 256; do
    echo "measuring $obj with $conns connections..." >&2
    read -r k_rps k_p50 k_p99 <<<"$(run "http://127.0.0.1:$kura_port/bench/$obj" "$conns")"
    read -r n_rps n_p50 n_p99 <<<"$(run "http://127.0.0.1:$nginx_port/bench/$obj" "$conns")"
    ratio="$(awk -v a="$k_rps" -v b="$n_rps" 'BEGIN{ if (b>0) printf "%.2fx", a/b; else print "n/a" }')"
    echo "| ${obj%.bin} | $conns | $k_rps | $n_rps | $ratio | $k_p50 | $n_p50 | $k_p99 | $n_p99 |" >>"$work/table.md"
  done
done
cat "$work/table.md"
mkdir -p "$root/bench-results"
cp "$work/table.md" "$root/bench-results/serve-$(date -u +%Y%m%dT%H%M%SZ).md"
