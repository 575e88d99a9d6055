#!/usr/bin/env bash
# Make sure a program from Debian's packages exists: ensure_tool.sh PATH PACKAGE
# Installs PACKAGE with apt when run as root; otherwise says how to install it and exits 1.
# Used for the browser tests (chromium) and the grader's sandbox (bubblewrap).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: ensure_tool.sh PATH PACKAGE   (e.g. /usr/bin/bwrap bubblewrap)" >&2
    exit 2
fi
TOOL="$1"
PACKAGE="$2"

if [ -x "$TOOL" ]; then
    echo "$PACKAGE present: $TOOL"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "$TOOL is missing and this script is not running as root, so it cannot install it." >&2
    echo "Run: sudo apt-get install -y $PACKAGE" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$TOOL is missing and apt-get is not available here;" >&2
    echo "install $PACKAGE with this system's package manager so that $TOOL exists." >&2
    exit 1
fi

echo "installing $PACKAGE with apt..."
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; update only when the package is unknown to apt.
apt-cache show "$PACKAGE" >/dev/null 2>&1 || apt-get update
apt-get install -y "$PACKAGE"
if [ ! -x "$TOOL" ]; then
    echo "apt-get finished but $TOOL is still missing" >&2
    exit 1
fi
echo "$PACKAGE installed: $TOOL"
