#!/usr/bin/env bash
# Takes the README's screenshots with headless Chromium: seeds a fresh data folder,
# starts a release build, creates a public read-only link and captures its pages
# (light, dark and phone). Usage: scripts/screenshots.sh [events]
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-300000}"
BIN=.build/release/veil
swift build -c release --product veil >/dev/null
DATA="$(mktemp -d)"
LOG="$DATA/veil.log"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
"$BIN" seed --data-dir "$DATA/data" --events "$EVENTS" --days 60 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --data-dir "$DATA/data" --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
PASSWORD=$(grep -o 'password=[^ ]*' "$LOG" | head -1 | cut -d= -f2)
JAR="$DATA/jar"
CSRF=$(curl -s -c "$JAR" "http://127.0.0.1:$PORT/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
curl -s -b "$JAR" -c "$JAR" -o /dev/null -d "username=admin&password=$PASSWORD&csrf=$CSRF" "http://127.0.0.1:$PORT/login"
CSRF=$(curl -s -b "$JAR" "http://127.0.0.1:$PORT/sites/localhost" | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
SHARE=$(curl -s -b "$JAR" -d "csrf=$CSRF" "http://127.0.0.1:$PORT/sites/localhost/share" | grep -o '/share/[A-Za-z0-9_-]*' | head -1)
BASE="http://127.0.0.1:$PORT$SHARE"
shot() { # name, width, height, url, extra flags
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$2,$3" $5 --screenshot="docs/screenshots/$1.png" "$4" >/dev/null 2>&1
}
shot overview 1280 2300 "$BASE?range=30d" ""
shot overview-dark 1280 1100 "$BASE?range=7d&channel=Social" "--force-dark-mode"
shot funnels 1280 900 "$BASE/funnels?range=30d&steps=page:/pricing%7Cpage:/signup%7Cevent:signup" ""
shot phone 390 1600 "$BASE?range=today" ""
# Session replay: record a visit to /demo, then open it in the player (signed in).
UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
COOKIE=$(awk '$6 == "veil_session" {print $7}' "$JAR")
python3 scripts/cdp.py >/dev/null <<EOF
{"user_agent": "$UA", "steps": [{"navigate": "http://127.0.0.1:$PORT/demo"}, {"wait": "window.__veilRec === 2"},
 {"sleep": 1}, {"click": "#demo-email"}, {"type": "someone@example.com"}, {"click": "#demo-signup"}, {"sleep": 1}, {"navigate": "about:blank"}, {"sleep": 1}]}
EOF
REC=$(curl -s -b "$JAR" "http://127.0.0.1:$PORT/api/recordings?site=localhost" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
python3 scripts/cdp.py >/dev/null <<EOF
{"width": 1280, "height": 1000, "cookies": [{"name": "veil_session", "value": "$COOKIE", "url": "http://127.0.0.1:$PORT"}],
 "steps": [{"navigate": "http://127.0.0.1:$PORT/sites/localhost/replays/$REC"}, {"wait": "document.getElementById('player').getAttribute('data-ready') == 'true'"},
 {"eval": "(function(){var s=document.getElementById('seek');s.value=s.max;s.dispatchEvent(new Event('input'));return 1})()"}, {"sleep": 1},
 {"screenshot": "docs/screenshots/replay.png"}]}
EOF
echo "screenshots written to docs/screenshots/"
