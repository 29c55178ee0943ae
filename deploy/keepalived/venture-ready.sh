#!/bin/sh
# keepalived check for a Venture primary/standby pair: succeeds (exit 0) only while the
# server on this host serves players, i.e. its /readyz answers 200. A standby that is
# following answers 503 there, and turns 200 the moment it has taken over, so the
# virtual IP follows the server that serves. Usage: venture-ready.sh [PORT] (default 8080,
# the server's -port; the check talks to 127.0.0.1 only).
set -eu
port="${1:-8080}"
case "$port" in
    ''|*[!0-9]*) echo "venture-ready.sh: port must be a number, got '$port'" >&2; exit 2 ;;
esac
# -f: a 503 is a failure; -m 1: a stalled server is a failure within the check interval.
exec curl -fsS -o /dev/null -m 1 "http://127.0.0.1:${port}/readyz"
