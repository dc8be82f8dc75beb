# Start-up shared by the bench scripts (serve.sh, profile-hits.sh, soak.sh) that run kura and an
# origin as separate processes on 127.0.0.1 (sourced, not run).
#
#   . "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
#   bench_require wrk curl     # exits with the Debian package hint when a tool is missing
#   bench_init soak            # JDK, build, $root, $cp, $work (removed at exit), $pids (killed at exit)
#   bench_start_origin 19100   # S3Proxy origin with bucket 'bench' (4k.bin, 1m.bin), waited for
#   bench_kura_yaml 18180 18190 19100 1h "max-size: 1GiB"   # $work/kura.yaml: /bench from the origin
#   bench_bucket /cold http://127.0.0.1:19101 1h cold >>"$work/kura.yaml"   # one more mapping
#   bench_start_kura 18190     # ./kura serve --config $work/kura.yaml; $kura_pid; waits for /health
#   bench_wait_http URL        # waits up to 60 s for URL to answer
#   { bench_nginx_conf_head; cat <<NGINX ... } >"$work/nginx.conf"   # nginx proxy_cache set-up
#
# The caller sets `set -euo pipefail` first. Messages name the calling script ($bench_name).

bench_name="bench/$(basename "$0")"

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
  # A daemon the script started with a pid file in $work (nginx).
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 1
  # Wait (up to 30 s, then SIGKILL) until every process is gone: a kura still draining holds its
  # ports, and the next script's kura could not bind them ("health did not come up").
  for p in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
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

# bench_require TOOL...: exits naming the Debian packages when one of the tools is missing.
bench_require() {
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "$bench_name: '$t' is missing (Debian: apt-get install -y $*)" >&2; exit 1; }
  done
}

# bench_bucket PREFIX ENDPOINT TTL [NAME]: prints one serve.buckets entry (bucket 'bench' of an
# anonymous, path-style origin), to follow bench_kura_yaml's output.
bench_bucket() {
  if [ -n "${4:-}" ]; then
    printf '    - name: %s\n      prefix: %s\n' "$4" "$1"
  else
    printf '    - prefix: %s\n' "$1"
  fi
  cat <<YAML
      bucket: bench
      endpoint: $2
      path-style: true
      credentials: {type: anonymous}
      default-ttl: $3
YAML
}

# bench_kura_yaml PORT OPS_PORT ORIGIN_PORT TTL [CACHE_LINE...]: writes $work/kura.yaml, kura on
# 127.0.0.1:PORT (ops on OPS_PORT, no access log), its cache in $work/kura-cache with the given
# lines of the cache: section (indented by two more spaces; e.g. "max-size: 1GiB" "memory:"
# "  max-size: 64MiB"), and mapping /bench to bucket 'bench' of the origin on ORIGIN_PORT. The
# buckets list ends the file, so more mappings can be appended with bench_bucket.
bench_kura_yaml() {
  local port="$1" ops="$2" origin="$3" ttl="$4"
  shift 4
  {
    echo "cache:"
    echo "  dir: $work/kura-cache"
    for line in "$@"; do echo "  $line"; done
    cat <<YAML
serve:
  listen: 127.0.0.1:$port
  ops-listen: 127.0.0.1:$ops
  access-log: false
  buckets:
YAML
    bench_bucket /bench "http://127.0.0.1:$origin" "$ttl"
  } >"$work/kura.yaml"
}

# bench_serve_env: applies TRANSPORT (serve.transport) and ZERO_COPY (serve.zero-copy; 1 means
# all) from the environment to $work/kura.yaml, when set.
bench_serve_env() {
  if [ -n "${ZERO_COPY:-}" ]; then sed -i "s/^serve:/serve:\n  zero-copy: ${ZERO_COPY/#1/all}/" "$work/kura.yaml"; fi
  if [ -n "${TRANSPORT:-}" ]; then sed -i "s/^serve:/serve:\n  transport: $TRANSPORT/" "$work/kura.yaml"; fi
}

# bench_start_kura OPS_PORT [JAVA_OPTION...]: kura serve --config $work/kura.yaml through the
# launcher (so the JVM is sized the way users get it: kura jvm-options; the options given here go
# before KURA_JAVA_OPTS, which still overrides any flag), log in $work/kura.log. Sets $kura_pid (the
# subshell execs the launcher, which execs java) and waits for the ops listener's /health.
bench_start_kura() {
  local ops="$1"
  shift
  local opts="$* ${KURA_JAVA_OPTS:-}"
  (cd "$work" && KURA_JAVA_OPTS="$opts" exec "$root/kura" serve --config "$work/kura.yaml" >"$work/kura.log" 2>&1) &
  kura_pid=$!
  pids+=("$kura_pid")
  bench_wait_http "http://127.0.0.1:$ops/health"
}

# bench_nginx_conf_head: prints the start of an nginx.conf for the cache under test, up to and
# inside `http {` (the caller adds its upstreams and servers and closes the block): workers as
# CPUs, pid, log and temp files in $work, sendfile with tcp_nopush, keep-alive without a request
# cap, and the proxy_cache zone `bench` in $work/nginx-cache (16 GiB, 1 h). Makes the directories.
bench_nginx_conf_head() {
  mkdir -p "$work/nginx-cache" "$work/nginx-tmp"
  [ "$(id -u)" = 0 ] && echo "user root;"
  cat <<NGINX
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
  proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=bench:64m max_size=16g inactive=1h use_temp_path=off;
NGINX
}
