#!/usr/bin/env bash
# CPU profile of kura serve's hit path: where the time goes serving cached 1 MiB and 4 KiB objects,
# and random 256 KiB ranges of a 1 GiB object (sliced on disk).
#   bench/profile-hits.sh              20 s of wrk at 256 connections per object, profiled
#   SECONDS_PER=5 bench/profile-hits.sh   shorter
#   OBJECTS=range CONNECTIONS=64 bench/profile-hits.sh   only the ranges (OBJECTS: 1m, 4k, range)
#   PROFILE_THREADS=1 PROFILE_EVENT=wall ...   stacks per thread; wall-clock instead of CPU samples
# Needs wrk and curl (Debian: apt-get install -y wrk curl). The profiler is async-profiler from Maven
# Central (tools.profiler:async-profiler, fetched with ./mvnw dependency:copy into the work dir) loaded
# into the running kura with jcmd JVMTI.agent_load; JFR is the fallback when the agent cannot load.
# Output: bench-results/profile-<time>/{1m,4k}.collapsed (flame-graph input: one stack a line with its
# sample count) and split.md, the samples grouped by bench/profile_split.py into Netty write/flush,
# CRC verification, disk reads, memory-tier copies, HTTP encoding, GC, locks and the rest.
# SKIP_BUILD=1 skips the Maven build (bench/lib.sh).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
per="${SECONDS_PER:-20}"
conns="${CONNECTIONS:-256}"
ap_version="${ASYNC_PROFILER_VERSION:-4.1}"
origin_port="${ORIGIN_PORT:-19100}"
kura_port="${KURA_PORT:-18180}"
kura_ops_port="${KURA_OPS_PORT:-18190}"

bench_require wrk curl python3
bench_init profile-hits
out="$root/bench-results/profile-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

(cd "$root" && ./mvnw -q -B -ntp dependency:copy -Dartifact="tools.profiler:async-profiler:$ap_version" \
  -DoutputDirectory="$work/ap" >&2) || echo "async-profiler $ap_version did not resolve; using JFR" >&2
lib=""
if [ -f "$work/ap/async-profiler-$ap_version.jar" ]; then
  arch="$(uname -m)"; [ "$arch" = x86_64 ] && arch=x64; [ "$arch" = aarch64 ] && arch=arm64
  (cd "$work/ap" && "$JAVA_HOME/bin/jar" xf "async-profiler-$ap_version.jar" "linux-$arch/libasyncProfiler.so")
  lib="$work/ap/linux-$arch/libasyncProfiler.so"
fi

bench_start_origin "$origin_port"
bench_kura_yaml "$kura_port" "$kura_ops_port" "$origin_port" 1h
bench_start_kura "$kura_ops_port" -XX:+EnableDynamicAgentLoading

objects="${OBJECTS:-1m,4k}"
range_size=$((1 << 30)) range_len=$((256 << 10))
if [[ ",$objects," == *,range,* ]]; then
  echo "putting a 1 GiB object and filling kura's cache with it..." >&2
  head -c "$range_size" /dev/urandom >"$work/range.bin"
  curl -sf -T "$work/range.bin" "http://127.0.0.1:$origin_port/bench/range.bin" >/dev/null
  rm -f "$work/range.bin"
  curl -sf -o /dev/null "http://127.0.0.1:$kura_port/bench/range.bin"
  cat >"$work/range.lua" <<LUA
local size, len = $range_size, $range_len
request = function()
  local first = math.random(0, size - len)
  return wrk.format("GET", "/bench/range.bin", { Range = "bytes=" .. first .. "-" .. (first + len - 1) })
end
LUA
fi
for obj in ${objects//,/ }; do
  url="http://127.0.0.1:$kura_port/bench/$obj.bin"
  script=()
  if [ "$obj" = range ]; then
    script=(-s "$work/range.lua")
  else
    for _ in 1 2 3; do curl -s -o /dev/null "$url"; done
  fi
  echo "warming up $obj..." >&2
  wrk -t2 -c"$conns" -d5s "${script[@]}" "$url" >/dev/null
  echo "profiling $obj for $per s at $conns connections..." >&2
  if [ -n "$lib" ]; then
    # jcmd splits its arguments at '=': the agent's option string goes in double quotes.
    "$JAVA_HOME/bin/jcmd" "$kura_pid" JVMTI.agent_load "$lib" "\"start,event=${PROFILE_EVENT:-cpu},interval=1ms${PROFILE_THREADS:+,threads}\"" >"$work/jcmd.log" 2>&1
    wrk -t2 -c"$conns" -d"${per}s" --latency "${script[@]}" "$url" | tee "$out/$obj.wrk.txt" >&2
    "$JAVA_HOME/bin/jcmd" "$kura_pid" JVMTI.agent_load "$lib" "\"stop,file=$out/$obj.collapsed,collapsed\"" >>"$work/jcmd.log" 2>&1
    [ -s "$out/$obj.collapsed" ] || { echo "bench/profile-hits.sh: no profile written; the agent's reason is in kura's log:" >&2
      grep -F '[ERROR]' "$work/kura.log" >&2 || true; exit 1; }
  else
    "$JAVA_HOME/bin/jcmd" "$kura_pid" JFR.start name=hits settings=profile >/dev/null
    wrk -t2 -c"$conns" -d"${per}s" --latency "${script[@]}" "$url" | tee "$out/$obj.wrk.txt" >&2
    "$JAVA_HOME/bin/jcmd" "$kura_pid" JFR.stop name=hits filename="$out/$obj.jfr" >/dev/null
  fi
done
if [ -n "$lib" ]; then
  collapsed=(); for obj in ${objects//,/ }; do collapsed+=("$out/$obj.collapsed"); done
  python3 "$root/bench/profile_split.py" "${collapsed[@]}" | tee "$out/split.md"
else
  echo "JFR recordings in $out (jfr print --events jdk.ExecutionSample)" >&2
fi
echo "profile in $out" >&2
