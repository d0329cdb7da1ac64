#!/usr/bin/env bash
# Prints the libFuzzer flags a fuzz target runs with, one per line: its dictionary
# (fuzz/dict/<target>.dict) and the [libfuzzer] settings of fuzz/options/<target>.options,
# the file OSS-Fuzz and ClusterFuzzLite read beside the binary (fuzz/oss-fuzz/build.sh copies
# it there). campaign.sh, planted.sh, run.sh and .ci/run take their flags from here, so that a
# local run fuzzes as the continuous fuzzing does.
#
#   fuzz/flags.sh [--without-options] TARGET
#   fuzz/flags.sh --asan [--without-options] TARGET
#
# --asan prints the file's [asan] settings instead, as one `key=value:key=value` line for
# ASAN_OPTIONS (OSS-Fuzz appends them to its own defaults). --without-options leaves the
# .options file out (the dictionary stays): libFuzzer's and ASan's defaults, for comparing
# runs. A line of an .options file that is not `key = value`, a comment or a [section] is an
# error naming the file and line, and the exit status is 1.
#
# Sourced (`. fuzz/flags.sh`), it prints nothing and defines the functions the callers use:
#
#   fuzz_flags ARRAY [--without-options] TARGET
#   fuzz_command ARRAY [--without-options] TARGET BINARY
#
# fuzz_flags sets the array variable ARRAY to the libFuzzer flags; fuzz_command sets it to
# the whole command that runs BINARY as the target runs: `env ASAN_OPTIONS=<the file's [asan]
# settings, then the caller's ASAN_OPTIONS, which win> BINARY <flags>`, to which the caller
# adds the corpus and its own flags (`ASAN_OPTIONS=malloc_context_size=30 fuzz/run.sh ...`
# overrides the file). Both fail with this script's message. Reading the flags with
# `mapfile < <(fuzz/flags.sh ...)` would drop the exit status and run the target without its
# options. fuzz/flags_test.sh checks all of it.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # The names inside are the functions' own, so that no caller's array is shadowed. Source
  # this file where the functions run: an exported function does not know the file it is in.
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
  fuzz_command() {
    local -n _fuzz_command_out=$1
    shift
    local _fuzz_command_bin=${*: -1} _fuzz_command_asan _fuzz_command_flags
    set -- "${@:1:$(($# - 1))}"
    _fuzz_command_asan=$("$(dirname "${BASH_SOURCE[0]}")/flags.sh" --asan "$@") || return
    fuzz_flags _fuzz_command_flags "$@" || return
    if [ -n "${ASAN_OPTIONS:-}" ] && [ -n "$_fuzz_command_asan" ]; then
      _fuzz_command_asan="$_fuzz_command_asan:$ASAN_OPTIONS"
    elif [ -n "${ASAN_OPTIONS:-}" ]; then
      _fuzz_command_asan=$ASAN_OPTIONS
    fi
    _fuzz_command_out=(env "ASAN_OPTIONS=$_fuzz_command_asan" "$_fuzz_command_bin"
      "${_fuzz_command_flags[@]}")
  }
  return 0
fi
set -euo pipefail

fuzz=$(cd "$(dirname "$0")" && pwd)
want=libfuzzer
options=1
while [ $# -gt 1 ]; do
  case "$1" in
    --asan) want=asan; shift ;;
    --without-options) options=0; shift ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: fuzz/flags.sh [--asan] [--without-options] TARGET" >&2; exit 2; }
target=$1

if [ "$want" = libfuzzer ] && [ -f "$fuzz/dict/$target.dict" ]; then
  echo "-dict=$fuzz/dict/$target.dict"
fi
file="$fuzz/options/$target.options"
if [ "$options" = 0 ] || [ ! -f "$file" ]; then
  exit 0
fi
section=
n=0
asan=()
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  line=${line%%#*}
  line=${line#"${line%%[![:space:]]*}"}
  line=${line%"${line##*[![:space:]]}"}
  [ -z "$line" ] && continue
  if [[ $line =~ ^\[([a-z_]+)\]$ ]]; then
    section=${BASH_REMATCH[1]}
  elif [[ $line =~ ^([a-z_]+)[[:space:]]*=[[:space:]]*([^[:space:]:]+)$ ]]; then
    if [ "$section" = libfuzzer ] && [ "$want" = libfuzzer ]; then
      echo "-${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
    elif [ "$section" = asan ] && [ "$want" = asan ]; then
      asan+=("${BASH_REMATCH[1]}=${BASH_REMATCH[2]}")
    fi
  else
    echo "fuzz/flags.sh: $file line $n is not 'key = value', a comment or a [section]: $line" >&2
    exit 1
  fi
done <"$file"
if [ ${#asan[@]} -gt 0 ]; then
  (IFS=:; echo "${asan[*]}")
fi
