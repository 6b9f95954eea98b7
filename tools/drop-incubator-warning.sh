# Sourced by tools/rewind (and its test): defines drop_incubator_warning, a filter that copies its
# input to its output byte for byte, except a first line that is exactly the JVM's announcement
# "WARNING: Using incubator modules: jdk.incubator.vector".
#
# Only that exact line is dropped, and only as the first line; everything else passes through
# untouched: NUL bytes, invalid UTF-8, a last line without a newline, progress redrawn with \r.
# The first line is compared one byte at a time as it arrives (bash's read with NUL as the
# delimiter, so a NUL byte is seen as one, never skipped), and at the first byte that differs the
# bytes read so far are given back and cat takes over. Nothing is held back waiting for a newline,
# and there is no binary-file detection (grep -v replaced a message holding a NUL by "binary file
# matches").
drop_incubator_warning() {
  local LC_ALL=C
  local warning=$'WARNING: Using incubator modules: jdk.incubator.vector\n'
  local c i=0
  while ((i < ${#warning})); do
    if ! IFS= read -r -d '' -n 1 c; then
      printf '%s' "${warning:0:i}" # the input ended inside the prefix: give it back
      return 0
    fi
    if [[ "$c" != "${warning:i:1}" ]]; then # an empty c is a NUL byte, which never matches
      printf '%s' "${warning:0:i}"
      if [[ -z "$c" ]]; then printf '\0'; else printf '%s' "$c"; fi
      exec cat
    fi
    i=$((i + 1))
  done
  exec cat
}
