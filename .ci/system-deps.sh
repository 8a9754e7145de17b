#!/usr/bin/env bash
# Debian packages the tests need: Chromium for browser tests, poppler-utils to read and render
# PDFs in tests, and redis-server for the reliability tests that stop and start a Redis of their
# own (the printouts' CJK font comes with requirements.txt, not from Debian). Installs only
# what is missing; without root it says what to install and leaves the decision to the tests.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v redis-server >/dev/null || missing+=(redis-server)  # reliability tests run a private Redis
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
fi
