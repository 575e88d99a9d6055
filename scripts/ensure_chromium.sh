#!/usr/bin/env bash
# Make sure Chromium exists for the browser tests (tests/e2e): Debian's package, installed with
# apt when run as root. Never use `playwright install`: the tests drive the system Chromium.
exec bash "$(dirname "$0")/ensure_tool.sh" "${E2E_CHROMIUM:-/usr/bin/chromium}" chromium
