# Sourced by .ci/run and tools/rewind: exports JAVA_HOME pointing at a JDK 25 (or newer).
# Keeps JAVA_HOME when it already is one; otherwise looks under /usr/lib/jvm and /opt.
jdk_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
if [[ -z "${JAVA_HOME:-}" || ! -x "${JAVA_HOME}/bin/java" || "$(jdk_major "$JAVA_HOME")" -lt 25 ]]; then
  JAVA_HOME=""
  for candidate in /usr/lib/jvm/*25* /usr/lib/jvm/* /opt/*jdk* /opt/java/*; do
    if [[ -x "$candidate/bin/javac" ]] && [[ "$(jdk_major "$candidate")" -ge 25 ]]; then
      JAVA_HOME="$candidate"
      break
    fi
  done
  if [[ -z "$JAVA_HOME" ]]; then
    echo "Rewind needs a JDK 25 or newer: set JAVA_HOME to one (none found under /usr/lib/jvm or /opt)." >&2
    exit 1
  fi
fi
export JAVA_HOME
