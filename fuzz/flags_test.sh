#!/usr/bin/env bash
# Checks fuzz/flags.sh and the fuzz_flags and fuzz_command functions its callers use (.ci/run,
# campaign.sh, planted.sh, run.sh), on a copy of the script beside options files made here: a
# well-formed file gives exactly its [libfuzzer] settings as flags and its [asan] settings
# before the caller's ASAN_OPTIONS (which win), a target with neither dictionary nor options gives no flag
# at all (not one empty argument, which libFuzzer would take for a corpus folder), and a
# malformed file stops a caller under `set -e` with a message naming the file and line, rather
# than letting it fuzz without the options. .ci/run runs it before the smoke run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/rampart-flags-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fuzz/options" "$tmp/fuzz/dict"
cp "$here/flags.sh" "$tmp/fuzz/flags.sh"
cd "$tmp"

failures=0
fail() {
  echo "flags_test.sh: $*" >&2
  failures=$((failures + 1))
}

# Runs a caller the way the real ones are written: set -e, the function sourced, the array
# used. Prints the flags one per line in brackets, then "went on".
caller() {
  bash -c 'set -euo pipefail; . fuzz/flags.sh; fuzz_flags f "$@"; printf "[%s]\n" "${f[@]}"; echo "went on"' _ "$@"
}

printf '%s\n' '# a comment' '' '[libfuzzer]' '  max_len = 4096   # trailing comment' \
  'entropic_feature_frequency_threshold=32' '[asan]' 'detect_leaks = 0' >fuzz/options/good.options
touch fuzz/dict/good.dict
want="[-dict=$tmp/fuzz/dict/good.dict]
[-max_len=4096]
[-entropic_feature_frequency_threshold=32]
went on"
got=$(caller good 2>&1) || fail "a well-formed file failed: $got"
[ "$got" = "$want" ] || fail "a well-formed file gave
$got
instead of
$want"

got=$(caller --without-options good 2>&1) || fail "--without-options failed: $got"
[ "$got" = "[-dict=$tmp/fuzz/dict/good.dict]
went on" ] || fail "--without-options gave $got"

# printf with an empty array still prints one "[]": the count is what tells.
got=$(bash -c 'set -euo pipefail; . fuzz/flags.sh; fuzz_flags f bare; echo "${#f[@]}"' 2>&1) ||
  fail "a target with neither dictionary nor options failed: $got"
[ "$got" = 0 ] || fail "a target with neither dictionary nor options gave $got flags, not 0"

# The whole command: the file's ASan settings, then the caller's, then the binary and its flags.
command() {
  bash -c 'set -euo pipefail; . fuzz/flags.sh; fuzz_command c "$@"; printf "[%s]\n" "${c[@]}"; echo "went on"' _ "$@"
}
got=$(fuzz/flags.sh --asan good 2>&1) || fail "--asan failed: $got"
[ "$got" = detect_leaks=0 ] || fail "--asan gave $got"
want="[env]
[ASAN_OPTIONS=detect_leaks=0:symbolize=0]
[/bin/t]
[-dict=$tmp/fuzz/dict/good.dict]
[-max_len=4096]
[-entropic_feature_frequency_threshold=32]
went on"
got=$(ASAN_OPTIONS=symbolize=0 command good /bin/t 2>&1) || fail "fuzz_command failed: $got"
[ "$got" = "$want" ] || fail "fuzz_command gave
$got
instead of
$want"
got=$(env -u ASAN_OPTIONS bash -c 'set -euo pipefail; . fuzz/flags.sh; fuzz_command c --without-options good /bin/t; printf "[%s]\n" "${c[@]}"' 2>&1) ||
  fail "fuzz_command --without-options failed: $got"
[ "$got" = "[env]
[ASAN_OPTIONS=]
[/bin/t]
[-dict=$tmp/fuzz/dict/good.dict]" ] || fail "fuzz_command --without-options gave $got"

printf '%s\n' '[libfuzzer]' 'max_len 4096' >fuzz/options/bad.options
printf '%s\n' '[libfuzzer]' 'max_len = 4096' '[asan]' 'detect_leaks=0:quarantine_size_mb=1' \
  >fuzz/options/bad2.options
for run in "caller bad" "command bad /bin/t" "command bad2 /bin/t"; do
  read -r how target _ <<<"$run"
  if got=$($run 2>&1); then
    fail "$how: a malformed options file did not stop the caller: $got"
  fi
  case $got in
    *"went on"*) fail "$how: the caller went on after a malformed options file: $got" ;;
  esac
  line=2
  [ "$target" = bad2 ] && line=4
  case $got in
    *"$target.options line $line"*) ;;
    *) fail "$how: the error does not name the file and line: $got" ;;
  esac
done

if [ "$failures" -gt 0 ]; then
  echo "flags_test.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "fuzz/flags.sh: every check passed (well-formed, --asan, the whole command, --without-options, no flags, malformed)"
