#!/usr/bin/env bash
# Ingest benchmark: starts a release `veil` on a free loopback port with an empty data
# folder, then drives it with wrk (single events, then batches of 50), and prints events/s.
# Not a test: figures depend on the machine. Usage: [BENCH_BIN=path] scripts/bench-ingest.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
connections="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
# Same flags as scripts/release-smoke.sh, so the two share one build. BENCH_BIN=path runs another
# binary instead (to compare two builds back to back).
if [ -n "${BENCH_BIN:-}" ]; then bin="$BENCH_BIN"; else
  swift build -c release --static-swift-stdlib --product veil >/dev/null
  bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/veil"
fi
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Extra server flags (e.g. --set writer.flush_interval_ms=0) can be passed in BENCH_SERVER_ARGS.
# Rate limits off: the load comes from one address, and this measures the write path.
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --set log_level=warning \
  --set rate_limits.client_per_second=0 --set rate_limits.site_per_second=0 ${BENCH_SERVER_ARGS:-} >"$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "veil did not start:" >&2; cat "$work/log" >&2; exit 1; }

# 5,000 distinct visitors (user agents) so sessions are looked up and created as in real traffic.
cat >"$work/single.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
local n = 0
request = function()
  n = n + 1
  local body = '{"site":"localhost","name":"pageview","url":"http://localhost/page/' .. (n % 200) .. '?utm_source=bench","referrer":"https://search.example/"}'
  return wrk.format(nil, "/api/event", {["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36 b" .. (n % 5000)}, body)
end
LUA
cat >"$work/batch.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
local events = {}
for i = 1, 50 do events[i] = '{"name":"pageview","url":"http://localhost/page/' .. i .. '"}' end
local body = '{"site":"localhost","events":[' .. table.concat(events, ",") .. ']}'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/api/batch", {["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36 b" .. (n % 5000)}, body)
end
LUA

run() { # name script events-per-request
  local out rps p99
  out=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$2" "http://127.0.0.1:$port/" 2>&1)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $4}')
  printf '%-14s %10.0f req/s %12.0f events/s   p99 %-8s non-2xx %s\n' "$1" "$rps" "$(echo "$rps * $3" | bc)" "$p99" "${non2xx:-0}"
}
echo "veil ingest benchmark: $(nproc) cores, ${duration}s per run, $connections connections, wrk -t2"
run "single event" "$work/single.lua" 1
run "batch of 50" "$work/batch.lua" 50
stored=$(sqlite3 "$work/data/veil.sqlite" "select count(*) from events" 2>/dev/null || echo "?")
echo "events stored: $stored"
