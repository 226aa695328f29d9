#!/usr/bin/env bash
# Builds the release binary with a static Swift runtime, copies it alone into an empty
# folder and checks that it serves the dashboard, the tracker and the demo page from
# its embedded assets, and that an event is counted.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product veil
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/veil"
empty="$(mktemp -d)"
cp "$bin" "$empty/veil"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "$empty"
./veil --listen "127.0.0.1:$port" >log.txt 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; cd /; rm -rf "$empty"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
check() { # path expected-substring
  local body
  body=$(curl -sfL "http://127.0.0.1:$port$1") || { echo "FAIL: GET $1"; cat log.txt; exit 1; }
  grep -qF "$2" <<<"$body" || { echo "FAIL: GET $1 lacks '$2'"; exit 1; }
  echo "ok: GET $1"
}
check /v.js "sendBeacon"
check /demo 'data-replay="1.0"'
check /vr.js "veil-pick"
check /assets/vp.js "replay-frame"
check "/api/replay/settings?site=localhost" '"mask_text":"pii"'
check /assets/veil.css "prefers-color-scheme"
check /login "Sign in"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' -A 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' \
  -d '{"site":"localhost","name":"pageview","url":"http://localhost/"}' "http://127.0.0.1:$port/api/event")
[ "$status" = 202 ] || { echo "FAIL: POST /api/event answered $status"; exit 1; }
echo "ok: POST /api/event 202"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' -A 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' \
  -d '{"site":"localhost","page":"smoke-page-1","seq":0,"events":[{"type":4,"timestamp":1,"data":{"href":"http://localhost/","width":800,"height":600}}]}' \
  "http://127.0.0.1:$port/api/replay")
[ "$status" = 202 ] || { echo "FAIL: POST /api/replay answered $status"; exit 1; }
echo "ok: POST /api/replay 202"
ls -A "$empty" | grep -qx veil-data || { echo "FAIL: no data folder"; exit 1; }
grep -q "password=" log.txt || { echo "FAIL: first start did not print the admin password"; exit 1; }
echo "release binary alone in an empty folder: ok ($(du -h veil | cut -f1))"
