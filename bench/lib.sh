# Start-up shared by the bench scripts that run kura and an origin as separate processes on
# 127.0.0.1 (sourced, not run). bench/soak.sh uses it; bench/serve.sh still has its own copy of
# the same steps (to be moved onto this file).
#
#   . "$(dirname "$0")/lib.sh"
#   bench_init soak            # JDK, build, $root, $cp, $work (removed at exit), $pids (killed at exit)
#   bench_start_origin 19100   # S3Proxy origin with bucket 'bench' (4k.bin, 1m.bin), waited for
#   bench_wait_http URL        # waits up to 60 s for URL to answer
#
# The caller sets `set -euo pipefail` first. Messages name the calling script ($bench_name).

bench_name="bench"

# bench_init NAME: NAME is the script's name in messages. SKIP_BUILD=1 skips the Maven build.
bench_init() {
  bench_name="bench/$1.sh"
  root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
  # shellcheck source=../scripts/find-jdk.sh
  . "$root/scripts/find-jdk.sh"
  kura_find_jdk || exit 1
  command -v curl >/dev/null || { echo "$bench_name: curl is missing (Debian: apt-get install -y curl)" >&2; exit 1; }
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "building kura..." >&2
    (cd "$root" && ./mvnw -q -B -ntp -DskipTests package >&2)
    # The jar plugin leaves an unchanged jar alone: mark the build as done, or ./kura rebuilds.
    touch "$root/kura-cli/target/kura-cli.jar"
  fi
  cp="$root/kura-cli/target/kura-cli.jar:$root/kura-cli/target/lib/*"
  work="$(mktemp -d "/tmp/kura-$1.XXXXXX")"
  pids=()
  trap bench_cleanup EXIT
}

# Kills what the script started (each pid in $pids) and removes $work.
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 1
  rm -rf "$work"
}

# bench_wait_http URL: returns once URL answers (any status); exits the script after 60 s.
bench_wait_http() {
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.2
  done
  echo "$bench_name: $1 did not come up" >&2
  exit 1
}

# bench_start_origin PORT [JAVA_OPTION...]: the embedded S3Proxy origin (anonymous, bucket 'bench'
# with 4k.bin and 1m.bin) on 127.0.0.1:PORT, files in $work/origin, log in $work/origin.log.
bench_start_origin() {
  local port="$1"
  shift
  "$JAVA_HOME/bin/java" "$@" -cp "$cp" dev.kura.s3.embedded.OriginMain "$work/origin" "$port" >"$work/origin.log" 2>&1 &
  pids+=($!)
  bench_wait_http "http://127.0.0.1:$port/bench/4k.bin"
}
