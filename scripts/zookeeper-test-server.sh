#!/usr/bin/env bash
# A throwaway ZooKeeper for the ClickHouse cluster test (replicated tables and ON CLUSTER
# DDL need one): its own configuration and data folder, one loopback port. Debian's zookeeper.
#   zookeeper-test-server.sh start DIR PORT   (returns once it answers)
#   zookeeper-test-server.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?folder}
case "$cmd" in
start)
  port=${3:?port}
  mkdir -p "$dir/data" "$dir/log"
  cat > "$dir/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
  # Java keeps every descriptor it inherits; one held open by the caller (Foundation's
  # Process watches a pipe) would make the caller wait for ZooKeeper to exit.
  for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true; done
  ZOOCFGDIR="$dir" ZOO_LOG_DIR="$dir/log" ZOO_LOG4J_PROP="WARN,CONSOLE" JVMFLAGS="-Xmx256m" \
    /usr/share/zookeeper/bin/zkServer.sh start-foreground "$dir/zoo.cfg" < /dev/null > "$dir/log/stdout" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 300); do
    if [ "$(python3 -c "
import socket
try:
    s = socket.create_connection(('127.0.0.1', $port), timeout=1); s.sendall(b'ruok'); print(s.recv(4).decode())
except Exception:
    print('')
")" = "imok" ]; then exit 0; fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "zookeeper exited:" >&2; tail -20 "$dir/log/stdout" >&2 || true; exit 1; }
    sleep 0.2
  done
  echo "zookeeper did not answer on port $port within 60 s" >&2; exit 1 ;;
stop)
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  pkill -P "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; exit 0; }; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$dir/pid" ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
