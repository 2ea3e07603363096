#!/usr/bin/env bash
# Make headless Chromium and its ChromeDriver available for the browser test of the Dagster UI
# (tests/ui). Idempotent: does nothing when both are there. Uses Debian's packages (a test
# tool's own browser download cannot work on a closed network); starts nothing.
set -euo pipefail

CHROMIUM=${CLIENTMART_CHROMIUM:-/usr/bin/chromium}
CHROMEDRIVER=${CLIENTMART_CHROMEDRIVER:-/usr/bin/chromedriver}

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ]; then
  echo "Chromium present: $("$CHROMIUM" --version 2>/dev/null | head -1)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
  command -v sudo >/dev/null || { echo "install_chromium.sh: not root and no sudo; install chromium and chromium-driver with your package manager" >&2; exit 1; }
else
  SUDO=
fi
command -v apt-get >/dev/null || { echo "install_chromium.sh: no apt-get; install Chromium and a matching ChromeDriver, then set CLIENTMART_CHROMIUM and CLIENTMART_CHROMEDRIVER" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
[ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ] || { echo "install_chromium.sh: packages installed but $CHROMIUM or $CHROMEDRIVER missing" >&2; exit 1; }
echo "installed $("$CHROMIUM" --version 2>/dev/null | head -1)"
