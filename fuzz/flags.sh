#!/usr/bin/env bash
# Prints the libFuzzer flags a fuzz target runs with, one per line: its dictionary
# (fuzz/dict/<target>.dict) and the [libfuzzer] settings of fuzz/options/<target>.options,
# the file OSS-Fuzz and ClusterFuzzLite read beside the binary (fuzz/oss-fuzz/build.sh copies
# it there). campaign.sh, planted.sh and .ci/run take their flags from here, so that a local
# run fuzzes as the continuous fuzzing does.
#
#   fuzz/flags.sh [--without-options] TARGET
#
# --without-options leaves the .options file out (the dictionary stays): libFuzzer's
# defaults, for comparing runs. A line of an .options file that is not `key = value`, a
# comment or a [section] is an error naming the file and line, and the exit status is 1.
#
# Sourced (`. fuzz/flags.sh`), it prints nothing and defines the function the callers use:
#
#   fuzz_flags ARRAY [--without-options] TARGET
#
# which sets the array variable ARRAY to those flags, or fails with this script's message.
# Reading the flags with `mapfile < <(fuzz/flags.sh ...)` would drop the exit status and run
# the target without its options. fuzz/flags_test.sh checks both.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # The names inside are the function's own, so that no caller's array is shadowed. Source
  # this file where the function runs: an exported function does not know the file it is in.
  fuzz_flags() {
    local -n _fuzz_flags_out=$1
    shift
    local _fuzz_flags_text
    _fuzz_flags_text=$("$(dirname "${BASH_SOURCE[0]}")/flags.sh" "$@") || return
    _fuzz_flags_out=()
    if [ -n "$_fuzz_flags_text" ]; then
      mapfile -t _fuzz_flags_out <<<"$_fuzz_flags_text"
    fi
  }
  return 0
fi
set -euo pipefail

fuzz=$(cd "$(dirname "$0")" && pwd)
options=1
if [ "${1:-}" = --without-options ]; then
  options=0
  shift
fi
[ $# -eq 1 ] || { echo "usage: fuzz/flags.sh [--without-options] TARGET" >&2; exit 2; }
target=$1

if [ -f "$fuzz/dict/$target.dict" ]; then
  echo "-dict=$fuzz/dict/$target.dict"
fi
file="$fuzz/options/$target.options"
if [ "$options" = 0 ] || [ ! -f "$file" ]; then
  exit 0
fi
section=
n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  line=${line%%#*}
  line=${line#"${line%%[![:space:]]*}"}
  line=${line%"${line##*[![:space:]]}"}
  [ -z "$line" ] && continue
  if [[ $line =~ ^\[([a-z_]+)\]$ ]]; then
    section=${BASH_REMATCH[1]}
  elif [[ $line =~ ^([a-z_]+)[[:space:]]*=[[:space:]]*([^[:space:]]+)$ ]]; then
    if [ "$section" = libfuzzer ]; then
      echo "-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
    fi
  else
    echo "fuzz/flags.sh: $file line $n is not 'key = value', a comment or a [section]: $line" >&2
    exit 1
  fi
done <"$file"
