#!/usr/bin/env bash
# CPU profile of kura tftp serving lock-step (windowsize 1) downloads of a 1 MiB file: runs
# `kura bench tftp --concurrency N --seconds S` and attaches async-profiler to the kura process it
# started for the length of kura's windowsize-1 cell (the bench prints "  kura: 1MiB.bin x N,
# windowsize 1 (pid P)" on stderr when the cell starts).
#   bench/profile-tftp.sh                      10 concurrent transfers, 20 s cell
#   CONCURRENCY=100 SECONDS_PER=10 bench/profile-tftp.sh
# The profiler is async-profiler from Maven Central (tools.profiler:async-profiler), loaded with
# jcmd JVMTI.agent_load as in bench/profile-hits.sh. Output: bench-results/profile-tftp-<time>/
# {w1.collapsed (one stack a line with its sample count), bench.txt (the bench's table)}.
# SKIP_BUILD=1 skips the Maven build. Run it under `flock /tmp/kura-bench.lock` on a shared machine.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
conc="${CONCURRENCY:-10}"
per="${SECONDS_PER:-20}"
ap_version="${ASYNC_PROFILER_VERSION:-4.1}"
[ "$per" -ge 6 ] || { echo "bench/profile-tftp.sh: SECONDS_PER must be >= 6" >&2; exit 1; }

bench_init profile-tftp
out="$root/bench-results/profile-tftp-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
(cd "$root" && ./mvnw -q -B -ntp dependency:copy -Dartifact="tools.profiler:async-profiler:$ap_version" \
  -DoutputDirectory="$work/ap" >&2)
arch="$(uname -m)"; [ "$arch" = x86_64 ] && arch=x64; [ "$arch" = aarch64 ] && arch=arm64
(cd "$work/ap" && "$JAVA_HOME/bin/jar" xf "async-profiler-$ap_version.jar" "linux-$arch/libasyncProfiler.so")
lib="$work/ap/linux-$arch/libasyncProfiler.so"

"$root/kura" bench tftp --concurrency "$conc" --seconds "$per" >"$out/bench.txt" 2>"$work/bench.err" &
bench=$!
pids+=("$bench")
marker="kura: 1MiB.bin x $conc, windowsize 1 (pid "
until grep -qF "$marker" "$work/bench.err"; do
  kill -0 "$bench" 2>/dev/null || { echo "bench/profile-tftp.sh: the bench ended before kura's windowsize-1 cell:" >&2
    cat "$work/bench.err" >&2; exit 1; }
  sleep 0.2
done
kura_pid="$(grep -F "$marker" "$work/bench.err" | sed 's/.*(pid \([0-9]*\)).*/\1/')"
sleep 1   # past the cell's first RRQs
echo "profiling kura tftp (pid $kura_pid) for $((per - 3)) s of $conc lock-step transfers..." >&2
# jcmd splits its arguments at '=': the agent's option string goes in double quotes.
"$JAVA_HOME/bin/jcmd" "$kura_pid" JVMTI.agent_load "$lib" '"start,event=cpu,interval=1ms"' >"$work/jcmd.log" 2>&1
sleep $((per - 3))
"$JAVA_HOME/bin/jcmd" "$kura_pid" JVMTI.agent_load "$lib" "\"stop,file=$out/w1.collapsed,collapsed\"" >>"$work/jcmd.log" 2>&1
wait "$bench" || true
[ -s "$out/w1.collapsed" ] || { echo "bench/profile-tftp.sh: no profile written:" >&2; cat "$work/jcmd.log" >&2; exit 1; }
cat "$out/bench.txt"
echo "profile in $out" >&2
