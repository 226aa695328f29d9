#!/usr/bin/env bash
# Takes the README's Feedback-tab and heatmap screenshots with headless Chromium: starts a
# release build with surveys and replay on for localhost, sends NPS and sentiment answers
# as different browsers would, records a few /demo visits with clicks and scrolling, and
# captures both tabs signed in. Usage: scripts/screenshots-feedback.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/veil
swift build -c release --product veil >/dev/null
DATA="$(mktemp -d)"
LOG="$DATA/veil.log"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$DATA/veil.yaml" <<YAML
listen: 127.0.0.1:$PORT
data_dir: $DATA/data
sites:
  - domain: localhost
    origins: ["127.0.0.1"]
    replay: {enabled: true, sample_rate: 1.0}
    feedback:
      nps: {enabled: true, sample_rate: 1.0, delay_seconds: 1}
      sentiment: {enabled: true, pages: ["/demo*"]}
YAML
"$BIN" serve --config "$DATA/veil.yaml" >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
PASSWORD=$(grep -o 'password=[^ ]*' "$LOG" | head -1 | cut -d= -f2)
JAR="$DATA/jar"
CSRF=$(curl -s -c "$JAR" "http://127.0.0.1:$PORT/login" | grep -o 'name="csrf" value="[^"]*"' | cut -d'"' -f4)
curl -s -b "$JAR" -c "$JAR" -o /dev/null -d "username=admin&password=$PASSWORD&csrf=$CSRF" "http://127.0.0.1:$PORT/login"
COOKIE=$(awk '$6 == "veil_session" {print $7}' "$JAR")
# Answers from 40 visitors (each its own browser version, so its own visitor hash).
COMMENTS=("Setup took five minutes, love it" "Please add a CSV import; mail me at jo@example.org" "Dashboards are fast" "" "" "Too many tabs" "" "The replays are great")
for i in $(seq 1 40); do
  UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/12$((i % 10)).0.$i.0 Safari/537.36"
  SCORE=$(( (i * 7) % 11 )); [ $((i % 3)) -eq 0 ] && SCORE=$((9 + i % 2))
  COMMENT="${COMMENTS[$((i % 8))]}"
  curl -s -o /dev/null -A "$UA" -H "Content-Type: text/plain" -d "{\"site\":\"localhost\",\"name\":\"pageview\",\"url\":\"http://localhost/pricing\"}" "http://127.0.0.1:$PORT/api/event"
  curl -s -o /dev/null -A "$UA" -H "Content-Type: text/plain" -d "{\"site\":\"localhost\",\"kind\":\"nps\",\"page\":\"http://localhost/pricing\"}" "http://127.0.0.1:$PORT/api/feedback"
  if [ $((i % 4)) -ne 0 ]; then
    BODY="{\"site\":\"localhost\",\"kind\":\"nps\",\"page\":\"http://localhost/pricing\",\"score\":$SCORE"
    [ -n "$COMMENT" ] && BODY="$BODY,\"comment\":\"$COMMENT\""
    curl -s -o /dev/null -A "$UA" -H "Content-Type: text/plain" -d "$BODY}" "http://127.0.0.1:$PORT/api/feedback"
  fi
  curl -s -o /dev/null -A "$UA" -H "Content-Type: text/plain" -d "{\"site\":\"localhost\",\"kind\":\"sentiment\",\"page\":\"http://localhost/docs/$((i % 3))\",\"score\":$((1 + i % 5))}" "http://127.0.0.1:$PORT/api/feedback"
done
# Recorded visits to /demo: clicks on the button, a rage burst on the heading (dead), typing, a scroll.
for w in 1280 1100 1366; do
  python3 scripts/cdp.py >/dev/null <<JSON
{"width": $w, "height": 700, "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.$w.0 Safari/537.36",
 "steps": [{"navigate": "http://127.0.0.1:$PORT/demo"}, {"wait": "window.__veilRec === 2"}, {"click": "#demo-signup", "at": [0.3, 0.5]}, {"sleep": 1.2},
 {"click": "#demo-signup", "at": [0.6, 0.4]}, {"sleep": 1.2}, {"click": "h1"}, {"click": "h1"}, {"click": "h1"}, {"sleep": 1.3},
 {"click": "#demo-email"}, {"type": "someone@example.com"}, {"eval": "scrollTo(0, document.body.scrollHeight); true"}, {"sleep": 1}, {"navigate": "about:blank"}, {"sleep": 1}]}
JSON
done
sleep 1
SESSION='[{"name": "veil_session", "value": "'"$COOKIE"'", "url": "http://127.0.0.1:'"$PORT"'"}]'
python3 scripts/cdp.py >/dev/null <<JSON
{"width": 1280, "height": 1500, "cookies": $SESSION,
 "steps": [{"navigate": "http://127.0.0.1:$PORT/sites/localhost/feedback?range=today"}, {"sleep": 0.5}, {"screenshot": "docs/screenshots/feedback.png"}]}
JSON
python3 scripts/cdp.py >/dev/null <<JSON
{"width": 1280, "height": 1900, "cookies": $SESSION,
 "steps": [{"navigate": "http://127.0.0.1:$PORT/sites/localhost/heatmaps?range=today&page=/demo&device=desktop"},
 {"wait": "document.getElementById('player') && document.getElementById('player').hasAttribute('data-hotspots')", "timeout": 30}, {"sleep": 0.5},
 {"screenshot": "docs/screenshots/heatmap.png"}]}
JSON
echo "screenshots written to docs/screenshots/ (feedback.png, heatmap.png)"
