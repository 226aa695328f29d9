#!/usr/bin/env bash
# A throwaway ClickHouse server for tests: its own configuration, data folder and
# loopback ports, user `veil` with password `veiltest`. Debian's clickhouse-server.
#   clickhouse-test-server.sh start DIR HTTP_PORT   (returns once it answers)
#   clickhouse-test-server.sh stop DIR              (and removes nothing: DIR is the caller's)
# CLICKHOUSE_MAX_MEMORY: bytes one query may use (default 4 GB; benchmarks at 10M need more).
# CLICKHOUSE_TCP_PORT: the native port (default: a free one); CLICKHOUSE_EXTRA_CONFIG: XML put
# inside the configuration (the cluster test's ZooKeeper, remote_servers and macros).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?folder}
binary=${CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}
case "$cmd" in
start)
  http=${3:?http port}
  # The native-protocol port must be free too; it is not used by Veil.
  tcp=${CLICKHOUSE_TCP_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log"
  cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/tmp/</user_files_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  ${CLICKHOUSE_EXTRA_CONFIG:-}
</yandex>
XML
  cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>${CLICKHOUSE_MAX_MEMORY:-4000000000}</max_memory_usage></default></profiles>
  <users><veil><password>veiltest</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></veil></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  "$binary" --config-file="$dir/config.xml" > "$dir/log/stdout" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 450); do
    if curl -sf -u veil:veiltest "http://127.0.0.1:$http/" --data-binary 'SELECT 1' >/dev/null 2>&1; then exit 0; fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "clickhouse-server exited:" >&2; tail -20 "$dir/log/stdout" "$dir/log/error.log" >&2 || true; exit 1; }
    sleep 0.2
  done
  echo "clickhouse-server did not answer on port $http within 90 s" >&2; exit 1 ;;
stop)
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || exit 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; exit 0; }; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true; rm -f "$dir/pid" ;;
*) echo "usage: $0 start DIR HTTP_PORT | stop DIR" >&2; exit 2 ;;
esac
