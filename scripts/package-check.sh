#!/usr/bin/env bash
# Installs the .deb from scripts/package.sh on this machine (as root, as CI does), checks
# the unit with systemd-analyze, the config with the installed binary, and runs the
# installed binary as the package's `veil` user: it serves, reloads on SIGHUP, keeps its
# data folder 0700 and files 0600, and stops cleanly. Removes the package afterwards.
# Usage: sudo bash scripts/package-check.sh [dist]
set -euo pipefail
cd "$(dirname "$0")/.."
dist="${1:-dist}"
deb=$(ls "$dist"/veil_*.deb | head -1)
[ "$(id -u)" = 0 ] || { echo "package-check: run as root (it installs $deb)"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }

dpkg -i "$deb" >/dev/null
data=""
pid=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  [ -n "$data" ] && rm -rf "$data"
  dpkg --purge veil >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "ok: dpkg -i $(basename "$deb")"

[ -x /usr/bin/veil ] || fail "/usr/bin/veil is missing"
[ "$(stat -c '%a %U %G' /etc/veil/veil.yaml)" = "640 root veil" ] || fail "/etc/veil/veil.yaml is $(stat -c '%a %U %G' /etc/veil/veil.yaml), expected 640 root veil"
getent passwd veil >/dev/null || fail "no veil user"
grep -q '^data_dir: /var/lib/veil$' /etc/veil/veil.yaml || fail "the packaged config does not use /var/lib/veil"
echo "ok: files, modes and the veil user"

/usr/bin/veil check-config /etc/veil/veil.yaml >/dev/null || fail "veil check-config /etc/veil/veil.yaml"
echo "ok: /usr/bin/veil check-config /etc/veil/veil.yaml"

verify=$(systemd-analyze verify /lib/systemd/system/veil.service 2>&1) || fail "systemd-analyze verify: $verify"
if grep -q "veil.service" <<<"$verify"; then fail "systemd-analyze verify: $verify"; fi
for key in ProtectSystem=strict NoNewPrivileges=yes StateDirectory=veil Restart=on-failure "ExecReload=/bin/kill -HUP"; do
  grep -q "^$key" /lib/systemd/system/veil.service || fail "the unit lacks $key"
done
echo "ok: systemd-analyze verify veil.service"

# The installed binary, as the veil user (setpriv execs it, so $! is Veil), on a data folder that already exists with loose modes.
data=$(mktemp -d)
chmod 0755 "$data"
chown veil:veil "$data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
setpriv --reuid veil --regid veil --init-groups /usr/bin/veil serve --config /etc/veil/veil.yaml --listen "127.0.0.1:$port" --data-dir "$data" >"$data.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$data.log"; fail "the installed binary does not answer /healthz"; }
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: text/plain' -A 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' \
  -d '{"site":"localhost","name":"pageview","url":"http://localhost/"}' "http://127.0.0.1:$port/api/event")
[ "$status" = 202 ] || fail "POST /api/event answered $status"
echo "ok: /usr/bin/veil serves as the veil user"
kill -HUP "$pid"
for _ in $(seq 100); do grep -q "configuration reloaded" "$data.log" && break; sleep 0.1; done
grep -q "configuration reloaded" "$data.log" || { cat "$data.log"; fail "SIGHUP did not reload"; }
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "not serving after SIGHUP"
echo "ok: SIGHUP reloads"
[ "$(stat -c '%a' "$data")" = 700 ] || fail "the data folder is $(stat -c '%a' "$data"), expected 700"
for f in "$data"/veil.sqlite "$data"/veil.sqlite-wal "$data"/secret.key; do
  [ ! -e "$f" ] || [ "$(stat -c '%a' "$f")" = 600 ] || fail "$f is $(stat -c '%a' "$f"), expected 600"
done
echo "ok: data folder 0700, files 0600"
kill -TERM "$pid"
wait "$pid" || fail "veil exited with $? after SIGTERM"
pid=""
grep -q " stopped" "$data.log" || fail "no 'stopped' in the log"
rm -f "$data.log"
echo "ok: SIGTERM stops cleanly"
echo "package check: ok"
