#!/usr/bin/env bash
# The two system packages some tests need, which a fresh machine lacks: bubblewrap (`bwrap`, the
# grading sandbox) and Chromium (the browser test). `make test` calls this first.
#
# Missing ones are installed with apt-get where this user can do so without a password (root, or
# passwordless sudo). Otherwise one line says what to run, and the tests that need them are skipped
# (tests/conftest.py). It fails only when LABKIT_REQUIRE_SYSTEM_TESTS=1 (CI, .ci/run) and something
# is still missing; LABKIT_SYSTEM_DEPS=0 leaves the system alone.
set -u
find_missing() {
  missing=()
  command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
}
find_missing
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${LABKIT_SYSTEM_DEPS:-1}" != 0 ] && command -v apt-get >/dev/null 2>&1; then
  sudo=none
  if [ "$(id -u)" = 0 ]; then sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
  fi
  if [ "$sudo" != none ]; then
    echo "Installing ${missing[*]} for the grading-sandbox and browser tests (apt-get) ..."
    if $sudo apt-get update -qq >/dev/null \
        && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
      find_missing
      [ ${#missing[@]} -eq 0 ] && exit 0
      echo "apt-get installed the packages, but ${missing[*]} is still not on PATH."
    else
      echo "apt-get could not install ${missing[*]}."
    fi
  fi
fi

echo "Not installed: ${missing[*]}; the tests that need them will be skipped. To run them too: sudo apt-get install -y ${missing[*]}"
[ "${LABKIT_REQUIRE_SYSTEM_TESTS:-0}" = 1 ] && exit 1
exit 0
