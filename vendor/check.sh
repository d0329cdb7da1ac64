#!/usr/bin/env bash
# Checks that every crate in vendor/ is the crate published on crates.io plus our patch and
# nothing else: downloads <name>-<version>.crate, checks its SHA-256 against vendor/SOURCES,
# unpacks it, applies vendor/<name>.patch and compares the result with vendor/<name> file by
# file (the package's Cargo.lock, which cargo ignores in a dependency, and which its
# .gitignore keeps out of git, apart). Run by .ci/run; needs curl, sha256sum, tar, patch.
# Usage: vendor/check.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while read -r name version sha; do
  case "$name" in '' | '#'*) continue ;; esac
  crate="$tmp/$name-$version.crate"
  curl -sSfL --retry 3 -o "$crate" "https://static.crates.io/crates/$name/$name-$version.crate"
  if ! echo "$sha  $crate" | sha256sum -c --status -; then
    echo "vendor/$name: $name-$version.crate from crates.io does not have the SHA-256 in vendor/SOURCES" >&2
    exit 1
  fi
  tar -xzf "$crate" -C "$tmp"
  (cd "$tmp/$name-$version" && patch -s -p1 --no-backup-if-mismatch <"$here/$name.patch")
  if ! diff -r -x Cargo.lock "$tmp/$name-$version" "$here/$name"; then
    echo "vendor/$name is not $name $version plus vendor/$name.patch (differences above)" >&2
    exit 1
  fi
  echo "vendor/$name: $name $version as published ($sha), plus vendor/$name.patch"
done <"$here/SOURCES"
