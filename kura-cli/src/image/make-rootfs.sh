#!/usr/bin/env bash
# Builds the part of kura's container image that is not the application (Jib adds /app itself):
#   /opt/java          a Java runtime made by jlink from the JDK running the build (JDK 25)
#   /lib, /lib64       glibc and libgcc_s, unpacked from the Debian packages libc6 and libgcc-s1
#   /bin/sh            dash (Debian package dash), for the entrypoint script only
#   /etc, /usr/local/bin/kura, /var/cache/kura, /tmp   from src/image/rootfs beside this script
#
# Why not a base image: the build machines reach Maven Central and Debian's mirrors but no
# container registry, so Jib builds FROM scratch and this script supplies what a distroless Java
# base image would (distroless's java images are the same recipe: a JRE, glibc, an unprivileged
# user 65532). The Debian packages are the versions installed on the build machine
# (`apt-get download pkg=version`), so the image's glibc is the one the JDK was tested on here.
#
# Usage: make-rootfs.sh OUT_DIR JAVA_HOME     (run by the `image` Maven profile of kura-cli)
set -euo pipefail
out="$1"; jdk="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$out.work"
for t in apt-get dpkg-deb dpkg-query; do
  command -v "$t" >/dev/null || { echo "make-rootfs: needs $t (a Debian or Ubuntu build machine)" >&2; exit 1; }
done
rm -rf "$out" "$work"
mkdir -p "$work/debs" "$work/x"

# 1. Debian packages (cached in ~/.cache/kura-image/debs across builds: the download is ~3 MB).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kura-image/debs"
mkdir -p "$cache"
for p in libc6 libgcc-s1 dash; do
  v="$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)"
  spec="$p"; [ -n "$v" ] && spec="$p=$v"
  # the file name apt gives: name_version(with ':' as %3a)_arch.deb
  f="$(ls "$cache/${p}_"*"_amd64.deb" 2>/dev/null | grep -F "_${v//:/%3a}_" | head -1 || true)"
  if [ -z "$v" ] || [ -z "$f" ]; then
    (cd "$cache" && apt-get download -q "$spec" >/dev/null 2>&1) \
      || { echo "make-rootfs: apt-get download $spec failed (run apt-get update?)" >&2; exit 1; }
    f="$(ls -t "$cache/${p}_"*"_amd64.deb" | head -1)"
  fi
  dpkg-deb -x "$f" "$work/x"
done
mkdir -p "$out/lib/x86_64-linux-gnu" "$out/lib64" "$out/bin"
# the shared libraries (not the gconv modules or the debugging/profiling preloads)
for f in "$work"/x/lib/x86_64-linux-gnu/*.so*; do
  case "$(basename "$f")" in libmemusage.so|libpcprofile.so|libc_malloc_debug.so.0|libthread_db.so.1) continue ;; esac
  cp -L "$f" "$out/lib/x86_64-linux-gnu/"
done
# /lib64/ld-linux-x86-64.so.2 is an absolute symlink in the package: copy its target from the
# unpacked package, never from the build machine's own /lib.
cp "$work/x/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$out/lib64/"
cp "$work/x/bin/dash" "$out/bin/dash"
cp "$work/x/bin/dash" "$out/bin/sh"

# 2. The Java runtime. Modules: the union of `jdeps --list-reduced-deps` over kura-cli.jar and
# every jar of target/lib (2026-12-01: java.base, logging, sql, unsupported, xml, desktop (java.beans,
# for the demo's S3Proxy/jclouds), security.jgss, httpserver, management, net, naming, rmi,
# net.http), plus jdk.crypto.ec and jdk.zipfs. Re-run jdeps when dependencies change: a missing
# module shows as a NoClassDefFoundError, which ImageIT's two runs would catch on the paths they take. --generate-cds-archive writes the default class-data archive
# into the runtime at build time, so the JVM maps it read-only at start and never writes one.
modules="java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.rmi,java.security.jgss,java.sql,java.xml,jdk.crypto.ec,jdk.httpserver,jdk.management,jdk.net,jdk.unsupported,jdk.zipfs"
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --compress=zip-6 --generate-cds-archive --output "$out/opt/java"

# 3. Files kept in the source tree (passwd, group, hosts, the entrypoint script, empty
# /etc/kura, /var/cache/kura and /tmp).
cp -a "$here/rootfs/." "$out/"
find "$out" -name .keep -delete
rm -rf "$work"
echo "make-rootfs: $(du -sh "$out" | cut -f1) in $out"
