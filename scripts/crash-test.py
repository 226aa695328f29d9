#!/usr/bin/env python3
"""Crash campaign: sustained concurrent ingest, kill -9 at a random moment, restart, and
a comparison of every acknowledged event with what the data folder holds.

Usage: scripts/crash-test.py [--rounds N] [--binary PATH] [--clients C] [--seed S]

Each round starts `veil serve` on a free loopback port with an empty-or-kept data folder,
runs C client threads posting events with unique IDs (`id`), kills the process with
SIGKILL after a random 0.3-2.0 s, restarts it once to let it recover, and then reads the
SQLite file directly: every event answered 202 must be stored exactly once, and
`PRAGMA integrity_check` must say ok. Prints acked, stored, lost and duplicates per
round and in total; exits 1 when anything was lost or duplicated.
Standard library only; talks to loopback only; every loop is bounded.
"""
import argparse, http.client, json, os, random, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
from veil_process import UA, newest_binary, start







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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    binary = newest_binary(args.binary)
    data_dir = tempfile.mkdtemp(prefix="veil-crash-")
    total = {"acked": 0, "lost": 0, "dupes": 0}
    failed = False
    for rnd in range(args.rounds):
        proc, port = start(binary, data_dir)
        sink, stop = AckSet(), threading.Event()
        threads = [threading.Thread(target=client, args=(port, f"r{rnd}c{i}", sink, stop, 1 if i % 2 else 10)) for i in range(args.clients)]
        for t in threads: t.start()
        time.sleep(rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads: t.join(timeout=15)
        # Restart once so recovery (WAL replay) runs as it would in production, then stop.
        proc, port = start(binary, data_dir)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        ok, stored = stored_ids(data_dir)
        acked = sink.ids
        lost = sum(1 for cid in acked if cid not in stored)
        dupes = sum(n - 1 for n in stored.values() if n > 1)
        total["acked"] += len(acked); total["lost"] += lost; total["dupes"] += dupes
        print(f"round {rnd + 1}: acked {len(acked)}, stored {sum(stored.values())} (all rounds), lost {lost}, duplicates {dupes}, integrity {ok}", flush=True)
        if lost or dupes or ok != "ok":
            failed = True
    print(f"total: acked {total['acked']}, lost {total['lost']}, duplicates {total['dupes']}, rounds {args.rounds}")
    subprocess.run(["rm", "-rf", data_dir])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
