#!/usr/bin/env python3
"""Overload campaign: goodput at normal load versus a 10x burst of concurrent clients.

Usage: scripts/overload.py [--seconds S] [--clients C] [--binary PATH]

Starts `veil serve` (rate limits off: the load comes from one address) and runs C
keep-alive clients posting batches of 10 events for S seconds (normal load), then 10*C
clients for S seconds (the burst), then measures recovery: requests until one single
event is answered 202 again. Prints accepted events per second in each phase and their
ratio (goodput under the burst / goodput at normal load; the target is >= 0.8), the
status mix of the burst, the peak RSS of the process and the recovery count.
Standard library only; loopback only; bounded loops.
"""
import argparse, collections, http.client, json, os, socket, subprocess, threading, time
from veil_process import UA, newest_binary, start







def rss_peak_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def phase(port, clients, seconds):
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    statuses = collections.Counter()
    accepted = [0]
    body = json.dumps({"site": "localhost", "events": [{"name": "pageview", "url": f"http://localhost/p{i}"} for i in range(10)]})

    def run():
        conn = None
        local = collections.Counter(); acc = 0
        for _ in range(10_000_000):
            if time.monotonic() >= stop:
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("POST", "/api/batch", body, {"Content-Type": "application/json", "User-Agent": UA})
                r = conn.getresponse(); data = r.read()
                local[r.status] += 1
                if r.status == 202:
                    acc += json.loads(data).get("accepted", 0)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close(); conn = None
            except (OSError, http.client.HTTPException):
                local["error"] += 1; conn = None
        with lock:
            statuses.update(local); accepted[0] += acc

    threads = [threading.Thread(target=run) for _ in range(clients)]
    t0 = time.monotonic()
    for t in threads: t.start()
    for t in threads: t.join(timeout=seconds + 60)
    return accepted[0] / (time.monotonic() - t0), statuses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--binary", default=None)
    args = ap.parse_args()
    binary = newest_binary(args.binary)
    import tempfile
    data_dir = tempfile.mkdtemp(prefix="veil-overload-")
    proc, port = start(binary, data_dir)
    try:
        normal, normal_status = phase(port, args.clients, args.seconds)
        burst, burst_status = phase(port, args.clients * 10, args.seconds)
        attempts = 0
        for attempts in range(1, 10_001):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", "/api/event", json.dumps({"site": "localhost", "name": "pageview", "url": "http://localhost/"}), {"Content-Type": "application/json", "User-Agent": UA})
                if c.getresponse().status == 202:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        rss = rss_peak_kb(proc.pid)
    finally:
        proc.terminate(); proc.wait(timeout=60)
        subprocess.run(["rm", "-rf", data_dir])
    print(f"normal load ({args.clients} clients): {normal:,.0f} accepted events/s; statuses {dict(normal_status)}")
    print(f"10x burst ({args.clients * 10} clients): {burst:,.0f} accepted events/s; statuses {dict(burst_status)}")
    print(f"goodput ratio burst/normal: {burst / normal if normal else 0:.2f} (target >= 0.80)")
    print(f"peak RSS: {rss / 1024:.0f} MiB; requests until a 202 after the burst: {attempts}")


if __name__ == "__main__":
    main()
