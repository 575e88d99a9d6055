#!/usr/bin/env bash
# Make sure /usr/bin/chromium exists for the browser tests (tests/e2e).
# Installs Debian's chromium with apt when run as root; otherwise says why it cannot.
# Never use `playwright install`: the tests drive the system Chromium via executable_path.
set -euo pipefail

CHROMIUM="${E2E_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    echo "chromium present: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing at $CHROMIUM and this script is not running as root," >&2
    echo "so it cannot install it. Run: sudo bash scripts/ensure_chromium.sh" >&2
    echo "(which runs: apt-get update && apt-get install -y chromium)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing at $CHROMIUM and apt-get is not available here;" >&2
    echo "install Chromium with this system's package manager so that $CHROMIUM exists." >&2
    exit 1
fi

echo "installing chromium with apt (about 40 s)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
if [ ! -x "$CHROMIUM" ]; then
    echo "apt-get finished but $CHROMIUM is still missing" >&2
    exit 1
fi
echo "chromium installed: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
