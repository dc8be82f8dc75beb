# Sourced by ./kura and .ci/run: sets JAVA_HOME to a JDK 25 or newer, or stops with a clear message.
# Order: $JAVA_HOME, then the usual install places, then `java` on PATH.
kura_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1
}
kura_find_jdk() {
  local c major
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk-arm64 \
           /usr/lib/jvm/java-25-openjdk-amd64 /usr/lib/jvm/java-25-openjdk-arm64 /usr/lib/jvm/*25* \
           /usr/lib/jvm/*2[6-9]* /opt/java/openjdk /opt/jdk-25* "$HOME"/.sdkman/candidates/java/25* \
           "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major=$(kura_java_major "$c")
    if [ -n "$major" ] && [ "${major%%.*}" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$c"
      return 0
    fi
  done
  echo "kura: needs a JDK 25 or newer, and none was found." >&2
  echo "      Looked at \$JAVA_HOME (${JAVA_HOME:-unset}), /usr/lib/jvm/*25*, /opt/java/openjdk and 'java' on PATH." >&2
  echo "      Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}
