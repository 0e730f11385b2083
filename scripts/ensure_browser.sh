#!/usr/bin/env bash
# Find the Chromium that the browser tests (tests/web/) and the web measurement scripts
# (scripts/web_latency.py, scripts/web_live_run.py) drive, installing Debian's when there is
# none; print its path on stdout and exit 0, or print one line why not on stderr and exit 1.
#
# Playwright drives this system Chromium through `executable_path`; it never downloads a
# browser of its own (`playwright install` needs the internet, a package registry does not).
# Looked for in this order:
#   $VMF_CHROMIUM                    (any Chromium or Chrome binary you point it at)
#   /usr/bin/chromium                (Debian: apt-get install chromium)
#   chromium, chromium-browser       (on PATH; Ubuntu's is a snap wrapper)
# When none is found and apt-get can run (as root, or with sudo that asks for no password),
# Debian's chromium (and fonts-liberation, so pages render text) is installed and one line on
# stderr says so; VMF_INSTALL_BROWSER=0 turns that off. `make test` runs this before pytest
# and carries on without a browser: the tests under tests/web/ then skip with this reason.
set -euo pipefail

find_chromium() {
    local candidate
    for candidate in "${VMF_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium || true)" \
        "$(command -v chromium-browser || true)"; do
        if [[ -n "$candidate" && -x "$candidate" && ! -d "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

source "$(dirname "$0")/apt.sh"  # can_apt

if [[ -n "${VMF_CHROMIUM:-}" && ! -x "$VMF_CHROMIUM" ]]; then
    echo "error: VMF_CHROMIUM=$VMF_CHROMIUM is not an executable file" >&2
    exit 1
fi

if CHROMIUM=$(find_chromium); then
    echo "$CHROMIUM"
    exit 0
fi

if [[ "${VMF_INSTALL_BROWSER:-1}" == 0 ]]; then
    echo "error: no Chromium found (VMF_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser) and" \
         "VMF_INSTALL_BROWSER=0; install one (apt-get install chromium) or set VMF_CHROMIUM" >&2
    exit 1
fi
if ! can_apt; then
    echo "error: no Chromium found (VMF_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser) and" \
         "apt-get cannot run here (needs root or password-less sudo); install one or set VMF_CHROMIUM" >&2
    exit 1
fi

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
        --no-install-recommends chromium fonts-liberation; } >"$LOG" 2>&1; then
    echo "error: no Chromium found and 'apt-get install chromium' failed: $(grep -m1 -E '^(E|W):' "$LOG" ||
        tail -n1 "$LOG")" >&2
    exit 1
fi
CHROMIUM=$(find_chromium) || { echo "error: Debian's chromium installed but no chromium binary found" >&2; exit 1; }
echo "ensure_browser: no Chromium found: installed Debian's chromium and fonts-liberation with apt-get" \
     "($("$CHROMIUM" --version 2>/dev/null | head -n1), $CHROMIUM)" >&2
echo "$CHROMIUM"
