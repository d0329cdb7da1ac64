#!/usr/bin/env bash
# Checks fuzz/flags.sh and the fuzz_flags function its callers use (.ci/run, campaign.sh,
# planted.sh), on a copy of the script beside options files made here: a well-formed file gives
# exactly its [libfuzzer] settings, a target with neither dictionary nor options gives no flag
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

printf '%s\n' '[libfuzzer]' 'max_len 4096' >fuzz/options/bad.options
if got=$(caller bad 2>&1); then
  fail "a malformed options file did not stop the caller: $got"
fi
case $got in
  *"went on"*) fail "the caller went on after a malformed options file: $got" ;;
esac
case $got in
  *"bad.options line 2"*) ;;
  *) fail "the error does not name the file and line: $got" ;;
esac

if [ "$failures" -gt 0 ]; then
  echo "flags_test.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "fuzz/flags.sh: every check passed (well-formed, --without-options, no flags, malformed)"
