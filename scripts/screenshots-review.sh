#!/usr/bin/env bash
# Screenshots of the signed-in dashboard for a visual review (not the README's images):
# every page an operator opens, in light, dark and at 390 px, into OUT (default
# /tmp/veil-review). Usage: BIN=.build/debug/veil scripts/screenshots-review.sh [OUT] [events]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-/tmp/veil-review}"
EVENTS="${2:-20000}"
BIN="${BIN:-.build/debug/veil}"
mkdir -p "$OUT"
DATA="$(mktemp -d)"
LOG="$DATA/veil.log"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$DATA"' EXIT
"$BIN" seed --data-dir "$DATA/data" --events "$EVENTS" --days 30 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --data-dir "$DATA/data" --listen "127.0.0.1:$PORT" >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
BASE="http://127.0.0.1:$PORT"
PASSWORD=$(grep -o 'password=[^ ]*' "$LOG" | head -1 | cut -d= -f2)
JAR="$DATA/jar"
CSRF=$(curl -s -c "$JAR" "$BASE/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
curl -s -b "$JAR" -c "$JAR" -o /dev/null -d "username=admin&password=$PASSWORD&csrf=$CSRF" "$BASE/login"
COOKIE=$(awk '$6 == "veil_session" {print $7}' "$JAR")
UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
# A recorded visit to /demo (an e-mail typed, then erased by magic erasure in the player).
python3 scripts/cdp.py >/dev/null <<PLAN
{"user_agent": "$UA", "steps": [{"navigate": "$BASE/demo"}, {"wait": "window.__veilRec === 2"}, {"sleep": 1},
 {"click": "#demo-email"}, {"type": "someone@example.com"}, {"click": "#demo-signup"}, {"sleep": 2},
 {"screenshot": "$OUT/demo.png"}, {"navigate": "about:blank"}, {"sleep": 1}]}
PLAN
REC=$(curl -s -b "$JAR" "$BASE/api/recordings?site=localhost" | grep -o '"id":[0-9]*' | head -1 | cut -d: -f2)
S="$BASE/sites/localhost"
PAGES="overview=$S?range=30d live=$S/live funnels=$S/funnels?range=30d journeys=$S/journeys?range=30d
retention=$S/retention?range=30d replays=$S/replays player=$S/replays/$REC privacy=$S/privacy
feedback=$S/feedback heatmaps=$S/heatmaps users=$BASE/users account=$BASE/account sites=$BASE/sites"
shoot() { # name url width height dark
  python3 scripts/cdp.py >/dev/null <<PLAN
{"width": $3, "height": $4, "dark": $5, "cookies": [{"name": "veil_session", "value": "$COOKIE", "url": "$BASE"}],
 "steps": [{"navigate": "$2"}, {"sleep": 2}, {"screenshot": "$OUT/$1.png"}]}
PLAN
}
for page in $PAGES; do
  name="${page%%=*}"; url="${page#*=}"
  [ -n "${PHONE_ONLY:-}" ] || shoot "$name-light" "$url" 1280 1400 false
  [ -n "${PHONE_ONLY:-}" ] || shoot "$name-dark" "$url" 1280 1400 true
  shoot "$name-phone" "$url" 390 1600 false
done
echo "review screenshots written to $OUT"
