#!/usr/bin/env bash
# The latency tail of one cached object, kura and nginx side by side, in alternating rounds:
# a short look at one bench/serve.sh row (it starts only the origin, kura and a plain nginx
# proxy_cache, fills both caches with one object and runs wrk against each in turn).
#   bench/hit-tail.sh                      1 MiB object, 256 connections, 2 rounds of 15 s
#   DUR=3 ROUNDS=2 bench/hit-tail.sh       runs made only of their start (new connections)
#   OBJ=4k.bin CONNS=64 bench/hit-tail.sh  another object or connection count
#   OBJ_MIB=64 ...                         an object of that many MiB, put into the origin first
#   MEMORY_ITEM=256KiB ...                 kura's memory.max-item-size (default 1MiB; MEMORY: its max-size)
#   EL=2 bench/hit-tail.sh                 kura with serve.event-loop-threads: 2
#   TRANSPORT=epoll bench/hit-tail.sh      kura with serve.transport: epoll (default auto: io_uring)
#   ZERO_COPY=memory|all ...              kura with serve.zero-copy: memory (memory hits by sendfile / splice)
#                                          or all (disk hits too; ZERO_COPY=1 means all)
#   WARM=30 WARM_CONNS=256 ...             warm-up per server (default 10 s at 64 connections)
#   EXTRA_OPTS=-XX:+PrintCompilation ...   JVM options for kura (its log: $work/kura.log, kept
#                                          as /tmp/kura-hit-tail.log)
#   TRACE=1 [TRACE_AT=5] ...               2 s of wrk's syscalls per round from TRACE_AT s (perf record of
#                                          epoll_wait exits, reads and writes): /tmp/kura-hit-tail-<server>.perf
#   NGINX_SENDFILE=off ...                 nginx copies through its own buffers (read + writev), as kura does
#   SRVTRACE=1 [TRACE_AT=5] ...            the same for the server's writes and sendfiles (entry and return):
#                                          /tmp/kura-hit-tail-srv-<server>.perf
#   SS=1 [SS_AT="0.5 1 2"] ...            the clients' sockets (ss -tmi) after each pause in SS_AT (seconds,
#                                          cumulative): /tmp/kura-hit-tail-ss-<server>-<pause>.txt
#   PROF=1 ...                             async-profiler on kura over each round (cpu, per thread):
#                                          /tmp/kura-hit-tail-r<round>.collapsed
# Each round prints each server's CPU (cores, from /proc) and wrk's latency distribution. Found
# with it: docs/SERVE.md, "p99 at 256 connections". Needs wrk, nginx, curl (and perf for TRACE).
# SKIP_BUILD=1 skips the Maven build (bench/lib.sh).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
conns="${CONNS:-256}"; dur="${DUR:-15}"; rounds="${ROUNDS:-2}"; obj="${OBJ:-1m.bin}"
origin_port="${ORIGIN_PORT:-19200}"; kura_port="${KURA_PORT:-18280}"; kura_ops_port="${KURA_OPS_PORT:-18290}"
nginx_port="${NGINX_PORT:-18281}"
bench_require wrk nginx curl
bench_init hit-tail
lib=""
if [ -n "${PROF:-}" ]; then
  (cd "$root" && ./mvnw -q -B -ntp dependency:copy -Dartifact=tools.profiler:async-profiler:4.1 -DoutputDirectory="$work/ap" >&2)
  (cd "$work/ap" && "$JAVA_HOME/bin/jar" xf async-profiler-4.1.jar linux-x64/libasyncProfiler.so)
  lib="$work/ap/linux-x64/libasyncProfiler.so"
  EXTRA_OPTS="${EXTRA_OPTS:-} -XX:+EnableDynamicAgentLoading"
fi

bench_start_origin "$origin_port"
bench_kura_yaml "$kura_port" "$kura_ops_port" "$origin_port" 1h "max-size: 16GiB" "max-item-size: 16GiB" \
  "memory:" "  max-size: ${MEMORY:-256MiB}" "  max-item-size: ${MEMORY_ITEM:-1MiB}"
[ -n "${EL:-}" ] && sed -i "s/^serve:/serve:\n  event-loop-threads: $EL/" "$work/kura.yaml"
bench_serve_env
# shellcheck disable=SC2086
bench_start_kura "$kura_ops_port" ${EXTRA_OPTS:-}

{
  bench_nginx_conf_head
  cat <<NGINX
  upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port reuseport backlog=4096;
    proxy_http_version 1.1; proxy_cache bench; proxy_cache_valid 200 206 1h;
    add_header X-Cache \$upstream_cache_status;
    location / { proxy_pass http://origin; proxy_set_header Connection ""; }
  }
}
NGINX
} >"$work/nginx.conf"
[ -n "${NGINX_SENDFILE:-}" ] && sed -i "s/^  sendfile on;/  sendfile $NGINX_SENDFILE;/" "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon on;'
bench_wait_http "http://127.0.0.1:$nginx_port/bench/4k.bin"
if [ -n "${OBJ_MIB:-}" ]; then
  # another object of OBJ_MIB MiB of random bytes, PUT through S3Proxy (its ETag is S3's)
  obj="${OBJ_MIB}m.bin"
  head -c "$((OBJ_MIB << 20))" /dev/urandom >"$work/$obj"
  curl -sf -T "$work/$obj" "http://127.0.0.1:$origin_port/bench/$obj" >/dev/null
  rm -f "$work/$obj"
fi

for port in "$kura_port" "$nginx_port"; do
  for _ in 1 2 3; do curl -sf -o /dev/null "http://127.0.0.1:$port/bench/$obj"; done
  curl -sfI "http://127.0.0.1:$port/bench/$obj" | grep -qi '^x-cache: HIT' ||
    { echo "bench/hit-tail.sh: $obj is not a hit on port $port" >&2; exit 1; }
  wrk -t2 -c"${WARM_CONNS:-64}" -d"${WARM:-10}" "http://127.0.0.1:$port/bench/$obj" >/dev/null
done

# CPU time (clock ticks) of the given processes, all their threads.
ticks() { local t=0 f; for p in "$@"; do read -r -a f <"/proc/$p/stat"; t=$((t + f[13] + f[14])); done; echo "$t"; }
idle() { local f; read -r -a f </proc/stat; echo "$((f[4] + f[5]))"; } # the machine's idle + iowait ticks
agent() { "$JAVA_HOME/bin/jcmd" "$kura_pid" JVMTI.agent_load "$lib" "\"$1\"" >/dev/null; }
for r in $(seq 1 "$rounds"); do
  for name in kura nginx; do
    if [ $name = kura ]; then port=$kura_port; server=("$kura_pid"); else port=$nginx_port; mapfile -t server < <(pgrep -f "nginx: worker"); fi
    [ -n "$lib" ] && [ $name = kura ] && agent "start,event=cpu,interval=1ms,threads"
    if [ -n "${TRACE:-}" ]; then
      (sleep "${TRACE_AT:-5}"; perf record -q -e syscalls:sys_exit_epoll_wait -e syscalls:sys_enter_write -e syscalls:sys_exit_read \
        -p "$(pgrep -x wrk | paste -sd,)" -o "/tmp/kura-hit-tail-$name.perf" -- sleep 2) >/dev/null 2>&1 &
    fi
    if [ -n "${SRVTRACE:-}" ]; then
      (sleep "${TRACE_AT:-5}"; perf record -q -e 'syscalls:sys_enter_write*' -e 'syscalls:sys_exit_write*' -e 'syscalls:sys_e*_sendto' \
        -e syscalls:sys_enter_sendfile64 -e syscalls:sys_exit_sendfile64 -e syscalls:sys_exit_epoll_wait \
        -a -o "/tmp/kura-hit-tail-srv-$name.perf" -- sleep 2) >/dev/null 2>&1 &
    fi
    if [ -n "${SS:-}" ]; then
      (for at in ${SS_AT:-0.5 1 2}; do sleep "$at"; ss -tmi state established "( dport = :$port )" >"/tmp/kura-hit-tail-ss-$name-$at.txt"; done) &
    fi
    command -v nstat >/dev/null && nstat -n
    c0=$(ticks "${server[@]}"); i0=$(idle); t0=$(date +%s.%N)
    out=$(wrk -t2 -c"$conns" -d"$dur" --timeout 5s --latency "http://127.0.0.1:$port/bench/$obj")
    c1=$(ticks "${server[@]}"); i1=$(idle); t1=$(date +%s.%N)
    if [ -n "${TRACE:-}${SRVTRACE:-}" ]; then wait $! || true; fi
    [ -n "$lib" ] && [ $name = kura ] && agent "stop,file=/tmp/kura-hit-tail-r$r.collapsed,collapsed"
    echo "== $name, round $r: server CPU $(echo "($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0)" | bc -l | cut -c1-4) cores," \
      "machine idle $(echo "($i1 - $i0) / $(getconf CLK_TCK) / ($t1 - $t0)" | bc -l | cut -c1-4) cores"
    echo "$out" | grep -E "Latency|50%|90%|99%|Requests/sec|Socket errors|Transfer"
    # the kernel's TCP trouble counters over the round (drops, retransmits, receive-queue pruning)
    command -v nstat >/dev/null && nstat 2>/dev/null | grep -E "OutSegs|Retrans|Prune|Collapse|Drop|Timeout|Loss|Ofo|Backlog|MemoryPressure" | sed 's/^/    tcp /' || true
  done
done
cp "$work/kura.log" /tmp/kura-hit-tail.log
