#!/usr/bin/env bash
# Makes sure a headless browser is on this machine for the dashboard's browser tests (e2e) and
# the dashboard row of `make bench`: installs Debian's chromium, with fonts for the pages' text,
# when a package is missing, then prints the browser's version. Idempotent: on a machine that has
# them it only prints the version. The tests fail, never skip, when the browser is missing.
#
# chromedp drives the browser through its DevTools protocol, so no chromedriver is needed.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }

packages=(chromium fonts-liberation fonts-dejavu-core)
bin=/usr/bin/chromium

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing ${missing[*]}; run as root or install them: apt-get install ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! version=$("$bin" --headless --no-sandbox --version 2>/dev/null); then
  log "$bin does not run; reinstall it: apt-get install --reinstall chromium"
  exit 1
fi
echo "$version"
