#!/usr/bin/env bash
# A fuzzing campaign on this machine, the way fuzz/README.md's "last campaign" table is made:
# builds every target optimised with AddressSanitizer (fuzz/build.sh, into ROOT/bin), then
# runs each one from the corpus folder ROOT/<target> (seeded with the committed seeds, kept
# between campaigns) with its dictionary and options (fuzz/flags.sh) and `-timeout=25`, two
# targets at a time, the stateful ones (ledger_diff, request_sequence) first and longest. Prints one Markdown row per target: execs, exec/s,
# libFuzzer's cov and ft at the end, the inputs added, and the crash if there was one
# (its input is kept in ROOT/artifacts/<target>/). Logs are in ROOT/logs/.
#
#   fuzz/campaign.sh [--root DIR] [--stateful SECONDS] [--others SECONDS] [--jobs N] [TARGET...]
#
# Defaults: --root /tmp/rampart-campaign, --stateful 1200, --others 600, --jobs 2, every target.
# Line coverage of the campaign's corpora: fuzz/coverage-report.sh ROOT. Exits 1 when any target
# crashed or did not run. Needs cargo-fuzz; sets RUSTC_BOOTSTRAP=1 for stable Rust.
set -euo pipefail

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$repo"
root=/tmp/rampart-campaign
stateful=1200
others=600
jobs=2
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$2; shift 2 ;;
    --stateful) stateful=$2; shift 2 ;;
    --others) others=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "campaign.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
export RUSTC_BOOTSTRAP=1
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "campaign.sh: no target $t (no fuzz/corpus/$t)" >&2; exit 2; }
done

echo "building the targets with AddressSanitizer" >&2
bins=$root/bin
fuzz/build.sh --out "$bins" "${targets[@]}"
mkdir -p "$root/logs"

# How long a target runs: the stateful ones (every input a sequence of API calls or ledger
# steps) longer.
. fuzz/build.sh
seconds_for() {
  if fuzz_is_stateful "$1"; then echo "$stateful"; else echo "$others"; fi
}

run_one() {
  local t=$1 seconds=$2
  mkdir -p "$root/$t" "$root/artifacts/$t"
  cp -n "fuzz/corpus/$t"/seed-* "$root/$t/" 2>/dev/null || true
  local command
  . fuzz/flags.sh
  if ! fuzz_command command "$t" "$bins/$t" 2>"$root/logs/$t.log"; then
    echo 1 >"$root/logs/$t.rc"
    return
  fi
  set +e
  "${command[@]}" "$root/$t" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$root/artifacts/$t/" >"$root/logs/$t.log" 2>&1
  echo $? >"$root/logs/$t.rc"
}
export -f run_one
export root bins
# Longest first, so that the short ones fill the other slots around them.
for t in "${targets[@]}"; do
  echo "$t $(seconds_for "$t")"
done | sort -s -k2,2nr | xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _

# One of libFuzzer's final statistics (-print_final_stats) from a log.
final_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1; }

failed=0
echo "| target | seconds | execs | exec/s | libFuzzer cov | ft | inputs added | result |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  log="$root/logs/$t.log"
  last=$({ grep -E '^#[0-9]+' "$log" || true; } | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  seconds=$(seconds_for "$t")
  result="no crash"
  if [ "$(cat "$root/logs/$t.rc" 2>/dev/null)" != 0 ]; then
    failed=1
    result="**$(grep -m 1 -E '^(==[0-9]+==ERROR|thread .* panicked|SUMMARY|fuzz/flags.sh:)' "$log" || echo 'did not finish')**"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$seconds" \
    "$(final_stat "$log" number_of_executed_units)" "$(final_stat "$log" average_exec_per_sec)" \
    "$cov" "$ft" "$(final_stat "$log" new_units_added)" "$result"
done
exit "$failed"
