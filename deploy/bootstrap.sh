#!/usr/bin/env bash
# One entry point for a fresh machine: install what gridflow needs, start the local stack,
# then run the demo or the tests. Safe to run again: every step skips what is already there.
#
#   bash deploy/bootstrap.sh install   # system packages + the Python package
#   bash deploy/bootstrap.sh demo      # install, stack up, gridflow demo --reset [args...]
#   bash deploy/bootstrap.sh test      # install, stack up, python -m pytest -q [args...]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
want_apt() {
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
    done
}
want_apt clickhouse-server clickhouse-client prometheus docker-compose
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)  # the tests verify deploy/systemd/ units

install() {
    if [ ${#need_apt[@]} -gt 0 ]; then
        echo "== installing Debian packages: ${need_apt[*]}"
        export DEBIAN_FRONTEND=noninteractive
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        # Package scripts must not start Debian's own clickhouse-server: the stack runs its own.
        local guard=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
            $sudo chmod +x /usr/sbin/policy-rc.d
            guard=1
        fi
        $sudo apt-get update -q || { echo "apt-get update failed; retrying once" >&2; sleep 15; $sudo apt-get update -q; }
        $sudo apt-get install -y -q "${need_apt[@]}"
        [ "$guard" = 0 ] || $sudo rm -f /usr/sbin/policy-rc.d
    fi
    # Installed, and installed from this checkout (not from another clone on the machine)?
    local here="$PWD"
    if ! (cd / && python -c "import os, sys, gridflow, faust, chdb, pytest, crc32c, plotly
sys.exit(os.path.dirname(os.path.dirname(os.path.abspath(gridflow.__file__))) != sys.argv[1])" "$here") 2>/dev/null \
        || [ -n "${GRIDFLOW_REINSTALL:-}" ]; then
        echo "== installing gridflow (pip install -e '.[dev,embedded,rocksdb]')"
        python -m pip install -q -e '.[dev,embedded,rocksdb]'
    fi
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    install)
        install ;;
    demo)
        install
        gridflow stack up
        # --reset: a second run replaces the first one's database, gridflow_demo (only that one)
        exec gridflow demo --reset "$@" ;;
    test)
        # headless Chromium (and a CJK font for its screenshots) for tests/integration/test_report_browser.py
        want_apt chromium fonts-wqy-microhei
        install
        gridflow stack up
        exec python -m pytest -q "$@" ;;
    *)
        echo "usage: bash deploy/bootstrap.sh install|demo|test [args...]" >&2
        exit 2 ;;
esac
