# Shared by the bench scripts (sourced).

# bench_setup: the 1080p bench clips, a release build, and a scratch folder removed on exit.
# Sets $media, $verity, $in10 (10 s of 1080p with AAC audio) and $tmp.
bench_setup() {
  media=.cache/media
  bash scripts/make-clips.sh "$media" bench
  cargo build --ignore-rust-version --release --quiet -p verity
  verity=target/release/verity
  in10="$media/bbb-1080p-10s.mp4"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
}

# measure LABEL CMD...: (after bench_setup) runs CMD, appends "LABEL seconds peak_kB" to $tmp/results; stops the
# bench with CMD's stderr if it fails.
measure() {
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  echo "$label $(cat "$tmp/t")" >> "$tmp/results"
}
