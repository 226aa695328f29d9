#!/usr/bin/env python3
"""Crash campaign: sustained concurrent ingest, kill -9 at a random moment, restart, and
a comparison of every acknowledged event with what the data folder holds.

Usage: scripts/crash-test.py [--rounds N] [--binary PATH] [--clients C] [--seed S] [--clickhouse]

Each round starts `veil serve` on a free loopback port with an empty-or-kept data folder,
runs C client threads posting events with unique IDs (`id`), kills the process with
SIGKILL after a random 0.3-2.0 s, restarts it once to let it recover, and then reads the
SQLite file directly: every event answered 202 must be stored exactly once, and
`PRAGMA integrity_check` must say ok. Prints acked, stored, lost and duplicates per
round and in total; exits 1 when anything was lost or duplicated.

With --clickhouse the node runs `storage.backend: clickhouse` against a throwaway
ClickHouse server (scripts/clickhouse-test-server.sh) with small shipping batches, so
the kill lands while batches are being shipped. After the restart the campaign waits
(bounded) for the node's outbox to empty, and then counts every acknowledged ID in
ClickHouse. Background merges are stopped first (`SYSTEM STOP MERGES`): the replacing
table would otherwise fold a doubled event away and hide it from the count.
Standard library only; talks to loopback only; every loop is bounded.
"""
import argparse, base64, http.client, json, os, random, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
from veil_process import UA, free_port, newest_binary, start







def client(port, prefix, acked, stop, batch):
    n = 0
    conn = None
    while not stop.is_set() and n < 1_000_000:
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            ids = [f"{prefix}-{n + i}" for i in range(batch)]
            n += batch
            if batch == 1:
                path, body = "/api/event", {"site": "localhost", "name": "pageview", "url": "http://localhost/crash", "id": ids[0]}
            else:
                path, body = "/api/batch", {"site": "localhost", "events": [{"name": "pageview", "url": "http://localhost/crash", "id": i} for i in ids]}
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", "User-Agent": UA})
            r = conn.getresponse()
            data = r.read()
            if r.status == 202 and json.loads(data).get("accepted") == batch:
                acked.update(ids)
        except (OSError, http.client.HTTPException, ValueError):
            conn = None
            time.sleep(0.01)


class AckSet:
    """IDs answered 202, shared by the client threads."""
    def __init__(self):
        self.lock = threading.Lock()
        self.ids = set()

    def update(self, ids):
        with self.lock:
            self.ids.update(ids)


def stored_ids(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "veil.sqlite"))
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT client_id, count(*) FROM events WHERE client_id IS NOT NULL GROUP BY client_id").fetchall()
    finally:
        db.close()
    return ok, {cid: n for cid, n in rows}


class ClickHouse:
    """A throwaway ClickHouse server and the node's settings for it."""
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="veil-crash-ch-")
        self.port = free_port()
        subprocess.run(["bash", "scripts/clickhouse-test-server.sh", "start", self.dir, str(self.port)], check=True)
        self.query("SYSTEM STOP MERGES")
        self.settings = ["--set", "storage.backend=clickhouse", "--set", f"clickhouse.url=http://127.0.0.1:{self.port}",
                         "--set", "clickhouse.user=veil", "--set", "clickhouse.password=veiltest", "--set", "clickhouse.database=veil_crash",
                         "--set", "clickhouse.node=crash-node", "--set", "clickhouse.ship_batch_events=50"]

    def query(self, sql):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        auth = base64.b64encode(b"veil:veiltest").decode()
        c.request("POST", "/", sql.encode(), {"Authorization": "Basic " + auth})
        r = c.getresponse()
        body = r.read().decode()
        if r.status != 200:
            raise SystemExit(f"ClickHouse answered {r.status}: {body[:300]}")
        return body

    def stored_ids(self):
        rows = self.query("SELECT client_id, count() FROM veil_crash.events WHERE client_id != '' GROUP BY client_id FORMAT TabSeparated")
        return {cid: int(n) for cid, n in (line.split("\t") for line in rows.splitlines() if line)}

    def stop(self):
        subprocess.run(["bash", "scripts/clickhouse-test-server.sh", "stop", self.dir])
        subprocess.run(["rm", "-rf", self.dir])


def outbox_depth(data_dir):
    db = sqlite3.connect(os.path.join(data_dir, "veil.sqlite"), timeout=10)
    try:
        return db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def drain(data_dir, limit=120):
    """Waits (at most `limit` seconds) for the running node to ship its whole outbox."""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            if outbox_depth(data_dir) == 0:
                return True
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--clickhouse", action="store_true", help="run the node on a throwaway ClickHouse and check what reached it")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    binary = newest_binary(args.binary)
    data_dir = tempfile.mkdtemp(prefix="veil-crash-")
    total = {"acked": 0, "lost": 0, "dupes": 0}
    failed = False
    ch = ClickHouse() if args.clickhouse else None
    extra = ch.settings if ch else []
    for rnd in range(args.rounds):
        proc, port = start(binary, data_dir, extra)
        sink, stop = AckSet(), threading.Event()
        threads = [threading.Thread(target=client, args=(port, f"r{rnd}c{i}", sink, stop, 1 if i % 2 else 10)) for i in range(args.clients)]
        for t in threads: t.start()
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads: t.join(timeout=15)
        # With ClickHouse: how many acknowledged events were still waiting to be shipped.
        waiting = outbox_depth(data_dir) if ch else 0
        # Restart once so recovery (WAL replay) runs as it would in production, then stop.
        proc, port = start(binary, data_dir, extra)
        drained = drain(data_dir) if ch else True
        pending = 0 if drained else outbox_depth(data_dir)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        ok, stored = stored_ids(data_dir)
        if ch:
            # The node's SQLite holds only the outbox; the events are in ClickHouse.
            stored = ch.stored_ids()
            if not drained:
                print(f"round {rnd + 1}: the outbox still held {pending} events after 120 s", flush=True)
                failed = True
        acked = sink.ids
        lost = sum(1 for cid in acked if cid not in stored)
        dupes = sum(n - 1 for n in stored.values() if n > 1)
        total["acked"] += len(acked); total["lost"] += lost; total["dupes"] += dupes
        shipping = f", {waiting} unshipped at the kill" if ch else ""
        print(f"round {rnd + 1}: acked {len(acked)}, stored {sum(stored.values())} (all rounds), lost {lost}, duplicates {dupes}, integrity {ok}{shipping}", flush=True)
        if lost or dupes or ok != "ok":
            failed = True
    print(f"total: acked {total['acked']}, lost {total['lost']}, duplicates {total['dupes']}, rounds {args.rounds}")
    subprocess.run(["rm", "-rf", data_dir])
    if ch:
        ch.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
