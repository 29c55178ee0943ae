#!/usr/bin/env bash
# Soak test: a release venture-server with 4 bots (one venture-client --bots 4) on
# 127.0.0.1 for SOAK_SECONDS (default 1800). Samples the server's RSS every 10 s and
# /metrics at the start and the end, then prints a report: desyncs, rollbacks, RSS over
# time (min/max/last), tick-time p99 estimated from the venture_tick_duration_seconds
# histogram, and bandwidth per player (UDP payload, and with 28 B of IP/UDP headers).
#
#   SOAK_SECONDS   play time (default 1800)
#   SOAK_PORT      port (default: a free one)
#   SOAK_SEED      world seed (default 12345)
#   SOAK_KEEP      keep the work directory (logs, metrics) when set
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS="${SOAK_SECONDS:-1800}"
SEED="${SOAK_SEED:-12345}"
PLAYERS=4

cargo build --release --bin venture-server --bin venture-client >&2
BIN=target/release

work="$(mktemp -d /tmp/venture-soak.XXXXXX)"
server_pid=""
client_pid=""
cleanup() {
    [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -z "${SOAK_KEEP:-}" ]; then rm -rf "$work"; else echo "soak: kept $work" >&2; fi
}
trap cleanup EXIT

free_port() {
    python3 - <<'PY'
import socket
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        t.close(); u.close()
PY
}
PORT="${SOAK_PORT:-$(free_port)}"

http_get() { # path -> body (plain HTTP/1.0 over bash's /dev/tcp)
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$1" >&3
    timeout 5 cat <&3 | sed '1,/^\r$/d'
    exec 3<&- 3>&-
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

(cd "$work" && exec "$OLDPWD/$BIN/venture-server" -port "$PORT" --bind 127.0.0.1 \
    -max-players "$PLAYERS" -seed "$SEED" >server.log 2>&1) &
server_pid=$!
for _ in $(seq 100); do
    http_get /healthz 2>/dev/null | grep -q . && break
    sleep 0.1
done
http_get /healthz >/dev/null || { echo "soak: server did not start" >&2; cat "$work/server.log" >&2; exit 1; }

mkdir -p "$work/secrets"
"$BIN/venture-client" --server "127.0.0.1:$PORT" --bots "$PLAYERS" --duration "$SOAK_SECONDS" \
    --status-every 0 --secret-dir "$work/secrets" >"$work/client.out" 2>"$work/client.err" &
client_pid=$!
# Start measuring once everyone is in.
for _ in $(seq 150); do
    [ "$(http_get /status | grep -o '"slot"' | wc -l)" -ge "$PLAYERS" ] && break
    sleep 0.1
done
http_get /metrics >"$work/metrics.start"
start=$(date +%s.%N)
echo "soak: port $PORT, $PLAYERS bots, ${SOAK_SECONDS}s, work dir $work" >&2

: >"$work/rss"
while kill -0 "$client_pid" 2>/dev/null; do
    now=$(date +%s)
    echo "$now $(rss_kib "$server_pid")" >>"$work/rss"
    # Sleep 10 s, waking early when the client exits.
    for _ in $(seq 20); do kill -0 "$client_pid" 2>/dev/null || break; sleep 0.5; done
done
end=$(date +%s.%N)
http_get /metrics >"$work/metrics.end"
echo "$(date +%s) $(rss_kib "$server_pid")" >>"$work/rss"
client_rc=0
wait "$client_pid" || client_rc=$?
client_pid=""
status_json="$(http_get /status)"

python3 - "$work" "$start" "$end" "$PLAYERS" "$client_rc" "$SOAK_SECONDS" "$status_json" <<'PY'
import json, re, sys
work, start, end, players, client_rc, planned, status = sys.argv[1:8]
elapsed = float(end) - float(start); players = int(players)

def metrics(path):
    out = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)', line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out

a, b = metrics(f"{work}/metrics.start"), metrics(f"{work}/metrics.end")
def delta(name):
    return b.get(name, 0.0) - a.get(name, 0.0)

# Histogram buckets (cumulative): p99 is the smallest bucket bound holding 99%.
buckets = []
for k in b:
    m = re.match(r'^venture_tick_duration_seconds_bucket\{.*le="([^"]+)".*\}$', k)
    if m:
        le = float("inf") if m.group(1) in ("+Inf", "inf") else float(m.group(1))
        buckets.append((le, delta(k)))
buckets.sort()
ticks = delta("venture_tick_duration_seconds_count")
tick_sum = delta("venture_tick_duration_seconds_sum")
p99 = p50 = None
if ticks > 0:
    for le, n in buckets:
        if p50 is None and n >= 0.50 * ticks: p50 = le
        if p99 is None and n >= 0.99 * ticks: p99 = le

def fmt_s(x):
    return "n/a" if x is None else ("> 0.1 s" if x == float("inf") else f"<= {x*1e6:.0f} us")

bytes_in = delta("venture_received_bytes_total")
bytes_out = delta("venture_sent_bytes_total")
dg_in = delta("venture_datagrams_received_total")
dg_out = delta("venture_datagrams_sent_total")
overruns = delta("venture_tick_overruns_total")
desync_reports = delta("venture_desync_reports_total")

rss = [int(l.split()[1]) for l in open(f"{work}/rss") if l.split()[1] != "0"]

bots = []  # one JSON line per bot at the end of the client's stdout
for line in open(f"{work}/client.out"):
    line = line.strip()
    if line.startswith("{"):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if "desyncs" in v:
            bots.append(v)
desyncs = sum(int(x.get("desyncs", 0)) for x in bots)
rollbacks = sum(int(x.get("rollbacks", 0)) for x in bots)

print(f"soak report: {players} bots, planned {planned} s, measured {elapsed:.0f} s, client exit {client_rc}")
print(f"  desyncs (clients)        {desyncs}   desync reports (server) {desync_reports:.0f}")
print(f"  rollbacks (clients)      {rollbacks}   max rollback {max([int(x.get('max_rollback', 0)) for x in bots] or [0])} ticks")
print(f"  ticks                    {ticks:.0f} ({ticks/elapsed:.2f}/s)   overruns {overruns:.0f}")
print(f"  tick time                mean {tick_sum/ticks*1e6 if ticks else 0:.1f} us, p50 {fmt_s(p50)}, p99 {fmt_s(p99)} (bucket bounds)")
if rss:
    print(f"  server RSS (KiB)         min {min(rss)}  max {max(rss)}  last {rss[-1]}  samples {len(rss)}")
    print(f"  RSS series (KiB)         {' '.join(map(str, rss[:12]))}{' ...' if len(rss) > 12 else ''}")
per = lambda x: x / elapsed / players
print(f"  per player down          {per(bytes_out):.0f} B/s payload, {per(bytes_out + 28*dg_out):.0f} B/s with 28 B headers")
print(f"  per player up            {per(bytes_in):.0f} B/s payload, {per(bytes_in + 28*dg_in):.0f} B/s with 28 B headers")
print(f"  server status            {status.strip()[:300]}")
ok = desyncs == 0 and int(client_rc) == 0 and len(bots) > 0
print(f"  result                   {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
