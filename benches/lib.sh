# Shared by the bench scripts (sourced, after they set $tmp).

# measure LABEL CMD...: runs CMD, appends "LABEL seconds peak_kB" to $tmp/results; stops the
# bench with CMD's stderr if it fails.
measure() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  echo "$label $(cat "$tmp/t")" >> "$tmp/results"
}
