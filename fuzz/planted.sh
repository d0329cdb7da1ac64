#!/usr/bin/env bash
# Shows that the stateful fuzz targets find the bugs they exist for, and how fast: each patch
# in fuzz/planted/ (named <target>--<bug>.patch) plants one bug in the server's code. For each,
# this script checks out the commit (default HEAD) into a scratch worktree, applies the patch,
# builds the target with AddressSanitizer the way campaigns do (this checkout's fuzz/build.sh,
# in fuzz/target/planted, apart from the campaign builds), and runs it from its committed
# seeds only, with a fixed libFuzzer seed and the target's flags and ASan settings (fuzz/flags.sh),
# until it crashes or SECONDS pass. It prints one row per bug and seed: the time to the crash
# (or "not found") and the inputs run. --seeds N runs each bug N times, with libFuzzer seeds 1
# to N (default 1); --without-options runs with libFuzzer's and ASan's defaults instead of the
# target's fuzz/options file (the dictionary stays).
#
#   fuzz/planted.sh [--rev REV] [--seconds N] [--seeds N] [--without-options] [PATCH...]
#
# Exits 1 when any planted bug is not found within the time. Needs cargo-fuzz and
# RUSTC_BOOTSTRAP=1 (set here) on stable Rust. `--check` only checks that every patch still
# applies to the working tree (what .ci/run runs).
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
rev=HEAD
seconds=300
seeds=1
check=0
without_options=()
patches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) rev=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --check) check=1; shift ;;
    --without-options) without_options=(--without-options); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "planted.sh: unknown option $1" >&2; exit 2 ;;
    *) patches+=("$1"); shift ;;
  esac
done
[ ${#patches[@]} -gt 0 ] || patches=(fuzz/planted/*.patch)

if [ "$check" = 1 ]; then
  for p in "${patches[@]}"; do
    git apply --check "$p" || { echo "planted.sh: $p no longer applies: re-plant the bug"; exit 1; }
  done
  echo "every planted bug still applies (${#patches[@]} patches)"
  exit 0
fi

# shellcheck source=fuzz/flags.sh
. fuzz/flags.sh
export RUSTC_BOOTSTRAP=1
work=$(mktemp -d /tmp/rampart-planted.XXXXXX)
cleanup() {
  git worktree remove --force "$work/tree" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach "$work/tree" "$rev" >/dev/null

missed=0
printf '%-58s %-12s %s\n' "planted bug" "found after" "inputs run"
for p in "${patches[@]}"; do
  name=$(basename "$p" .patch)
  target=${name%%--*}
  git -C "$work/tree" checkout -q -- .
  git -C "$work/tree" apply "$root/$p"
  (cd "$work/tree" && "$root/fuzz/build.sh" --target-dir "$root/fuzz/target/planted" \
    --out "$work/bin" "$target") >"$work/build.log" 2>&1 ||
    { echo "$name: the build failed"; tail -n 30 "$work/build.log"; exit 1; }
  fuzz_command command "${without_options[@]}" "$target" "$work/bin/$target"
  for seed in $(seq 1 "$seeds"); do
    corpus="$work/corpus-$name-$seed"
    mkdir -p "$corpus"
    cp "$root/fuzz/corpus/$target"/seed-* "$corpus/"
    log="$work/$name-$seed.log"
    start=$(date +%s.%N)
    set +e
    "${command[@]}" "$corpus" -seed="$seed" -timeout=25 -max_total_time="$seconds" \
      -print_final_stats=1 -artifact_prefix="$work/" >"$log" 2>&1
    rc=$?
    set -e
    took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    row="$name (seed $seed)"
    if [ "$rc" -ne 0 ] && grep -q 'Test unit written' "$log"; then
      printf '%-58s %-12s %s\n' "$row" "$(printf '%.1f s' "$took")" "${runs:-?}"
    else
      printf '%-58s %-12s %s\n' "$row" "not found" "${runs:-?} in ${seconds} s"
      missed=1
    fi
  done
done
exit "$missed"
