#!/usr/bin/env python3
"""Hostile-input campaign: generated malformed and hostile requests over every public
route, each category's expected status checked.

Usage: scripts/hostile.py [--count N] [--binary PATH] [--seed S]

Starts `veil serve` on a free loopback port with a fresh data folder (rate limits off,
so the categories are not masked by 429s; the rate limits have their own tests), sends
N requests spread over the categories below, and checks for each that the status is in
the category's expected set, that no answer is a 5xx, and that every /api/* error
carries the JSON error body. Then it checks /healthz still answers and the database is
intact. Prints counts per category and "N passed, N failed"; exits 1 on any failure.
Standard library only; loopback only; bounded loops and timeouts.
"""
import argparse, gzip, json, os, random, socket, sqlite3, subprocess, sys, tempfile, time
from veil_process import UA, newest_binary, start

ROUTES = ["/api/event", "/api/batch", "/api/replay"]
# Other clients' protocols (issue 13): PostHog, Segment, Umami. The campaign's site has no
# SDK keys, so a well-formed body is a 401; every malformed one must be a 4xx too.
SDK_ROUTES = ["/batch/", "/capture/", "/e/", "/i/v0/e/", "/track/", "/engage/", "/i/v1/analytics/events",
              "/v1/batch", "/v1/track", "/v1/page", "/v1/identify", "/api/send"]






def raw(port, data, timeout=10, slow=False):
    """Sends bytes on a new connection; returns (status, headers, body); status 0 = closed without answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if slow:
            for i in range(0, len(data), max(1, len(data) // 5)):
                s.sendall(data[i:i + max(1, len(data) // 5)]); time.sleep(0.05)
        else:
            s.sendall(data)
        out = b""
        while len(out) < 8 << 20:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in head.decode("latin-1").split("\r\n")[1:])}
                n = int(headers.get("content-length", "-1"))
                if n >= 0 and len(body) >= n:
                    break
    finally:
        s.close()
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        return 0, {}, b""
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


def request(method, path, body=b"", headers=None, close=True):
    h = {"Host": "127.0.0.1", "User-Agent": UA, "Content-Type": "application/json"}
    h.update(headers or {})
    if "Transfer-Encoding" not in h:
        h["Content-Length"] = str(len(body))
    if close:
        h["Connection"] = "close"
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items() if v is not None) + "\r\n"
    return head.encode("latin-1") + body


def event(rng, **over):
    e = {"site": "localhost", "name": "pageview", "url": "http://localhost/" + str(rng.randrange(1000))}
    e.update(over)
    return e


def categories(rng):
    """(name, expected statuses, request bytes, options) generators."""
    def nested(depth):
        return "[" * depth + "]" * depth
    ok4 = set(range(400, 500))
    return [
        ("random bytes", ok4 | {0}, lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))), {}),
        ("random body", ok4, lambda: request("POST", rng.choice(ROUTES), bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))), {}),
        ("truncated JSON", ok4, lambda: request("POST", "/api/event", json.dumps(event(rng)).encode()[:rng.randrange(1, 40)]), {}),
        ("deeply nested JSON", ok4, lambda: request("POST", rng.choice(ROUTES), nested(rng.choice([100, 1000, 20000])).encode()), {}),
        ("huge numbers", ok4 | {202}, lambda: request("POST", "/api/event", json.dumps(event(rng, w=10 ** 400 if rng.random() < .5 else 1e308)).replace("Infinity", "1" + "0" * 400).encode()), {}),
        ("invalid UTF-8", ok4, lambda: request("POST", "/api/event", b'{"site":"localhost","name":"\xff\xfe\xc0\xaf","url":"http://localhost/"}'), {}),
        ("NUL and lone surrogates", ok4 | {202}, lambda: request("POST", "/api/event", rng.choice([b'{"site":"localhost","name":"a\\u0000b","url":"http://localhost/"}', b'{"site":"localhost","name":"\\ud800","url":"http://localhost/"}', b'{"site":"local\x00host","name":"x","url":"http://localhost/"}'])), {}),
        ("duplicate keys", {400}, lambda: request("POST", rng.choice(["/api/event", "/api/batch", "/api/replay"]), b'{"site":"localhost","site":"localhost","name":"x","url":"http://localhost/"}'), {}),
        ("wrong types", ok4, lambda: request("POST", "/api/event", json.dumps(rng.choice([[1, 2], "s", 5, None, {"site": 5, "name": [], "url": {}}, {"site": "localhost", "name": "x", "url": "http://localhost/", "props": [1]}])).encode()), {}),
        ("giant strings", ok4, lambda: request("POST", "/api/event", json.dumps(event(rng, name="n" * rng.choice([121, 5000, 60000]))).encode()), {}),
        ("too many properties", {400, 413}, lambda: request("POST", "/api/event", json.dumps(event(rng, props={f"p{i}": i for i in range(rng.choice([31, 500, 3000]))})).encode()), {}),
        ("too many events", {413}, lambda: request("POST", "/api/batch", json.dumps({"site": "localhost", "events": [event(rng) for _ in range(101)]}).encode()), {}),
        ("content types", {415}, lambda: request("POST", rng.choice(ROUTES), b"{}", {"Content-Type": rng.choice(["application/xml", "application/jsonx", "multipart/form-data; boundary=x", "text/html"])}), {}),
        # gzip is read (inflated within the body limit: 413 past it, 400 for what it holds); other encodings are 415.
        ("encodings and bombs", {400, 413, 415}, lambda: request("POST", rng.choice(ROUTES), gzip.compress(rng.choice([b"[" * 1_000_000, b" " * 30_000_000, b"{" * 5000])), {"Content-Encoding": rng.choice(["gzip", "br", "deflate", "x-bomb"])}), {}),
        ("huge headers", {431, 400}, lambda: request("GET", "/healthz", b"", {"X-Big": "a" * rng.choice([90_000, 200_000])}), {}),
        ("many headers", {431, 400, 200}, lambda: request("GET", "/healthz", b"", {f"X-H{i}": "v" for i in range(rng.choice([500, 1500]))}), {}),
        ("bad methods", {405, 404}, lambda: request(rng.choice(["BREW", "CONNECT", "TRACE", "PROPFIND", "PUT", "DELETE", "PATCH"]), rng.choice(ROUTES + ["/healthz", "/api/stats/overview"]), b""), {}),
        ("bad Content-Length", {400}, lambda: (f"POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Length: {rng.choice(['abc', '-1', '1e3', '99999999999999999999', '5, 6'])}\r\n\r\n{{}}").encode(), {}),
        ("chunked abuse", ok4, lambda: request("POST", rng.choice(ROUTES), rng.choice([b"ZZ\r\nab\r\n0\r\n\r\n", b"ffffffffffffffffff\r\nab\r\n0\r\n\r\n", (b"4000\r\n" + b" " * 0x4000 + b"\r\n") * 80 + b"0\r\n\r\n"]), {"Transfer-Encoding": rng.choice(["chunked", "gzip, chunked", "chunked, identity", "foo"])}), {}),
        ("slow bodies", ok4 | {202}, lambda: request("POST", "/api/event", json.dumps(event(rng)).encode()), {"slow": True}),
        ("SDK random bodies", ok4, lambda: request("POST", rng.choice(SDK_ROUTES), bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000))),
                                                   {"Content-Type": rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded"])}), {}),
        ("SDK shapes and keys", ok4, lambda: request("POST", rng.choice(SDK_ROUTES), json.dumps(rng.choice([
            {"api_key": "phc_nope", "batch": [{"event": "x", "distinct_id": "d"}]}, {"batch": "x"}, {"batch": [1, 2]}, [[]], {"event": None},
            {"writeKey": "w", "batch": [{"type": "track"}]}, {"type": "event", "payload": {"website": 5}}, {"n": 1, "u": [], "d": {}},
            {"api_key": "phc_nope", "event": "e" * 5000, "distinct_id": {"a": 1}}, {"batch": [{"event": "x"}] * 300}])).encode(),
            {"Authorization": rng.choice([None, "Basic !!!", "Bearer ", "Basic " + "A" * 5000])}), {}),
        ("SDK compression junk", ok4, lambda: request("POST", rng.choice(["/e/", "/batch/", "/i/v0/e/"]) + "?compression=" + rng.choice(["lz64", "gzip-js", "base64", "zstd", "%00"]),
                                                      rng.choice([b"data=" + bytes(rng.randrange(33, 127) for _ in range(rng.randrange(1, 3000))),
                                                                  gzip.compress(b"[" * 500_000), b"N4Igpg" * rng.randrange(1, 2000), b"\x1f\x8b\x08" + b"\x00" * 50]),
                                                      {"Content-Type": rng.choice(["text/plain", "application/x-www-form-urlencoded"])}), {}),
        ("hostile values accepted and scrubbed", {202}, lambda: request("POST", "/api/event", json.dumps(event(rng, url="http://localhost/" + rng.choice([":" * 2000, "." * 2000, "-a" * 1000, "1-" * 1000, "@" * 2000]), props={"k": rng.choice(["jane@example.com", "4111 1111 1111 1111", "<script>alert(1)</script>"])})).encode()), {}),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    binary = newest_binary(args.binary)
    data_dir = tempfile.mkdtemp(prefix="veil-hostile-")
    proc, port = start(binary, data_dir)
    cats = categories(rng)
    counts = {c[0]: [0, 0] for c in cats}
    failures = []
    server_errors = non_json = 0
    try:
        for i in range(args.count):
            name, expected, make, opts = cats[i % len(cats)]
            data = make()
            try:
                status, headers, body = raw(port, data, slow=opts.get("slow", False))
            except OSError as e:
                status, headers, body = 0, {}, str(e).encode()
            good = status in expected
            if status >= 500:
                server_errors += 1; good = False
            if 400 <= status < 500 and not headers.get("content-type", "").startswith(("application/json", "text/html")):
                non_json += 1; good = False
            counts[name][0 if good else 1] += 1
            if not good and len(failures) < 20:
                failures.append(f"{name}: status {status}, {body[:160]!r}")
        status, _, _ = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        healthy = status == 200
    finally:
        proc.terminate(); proc.wait(timeout=30)
    db = sqlite3.connect(os.path.join(data_dir, "veil.sqlite"))
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    subprocess.run(["rm", "-rf", data_dir])
    width = max(len(n) for n in counts)
    for name, (p, f) in counts.items():
        print(f"{name:<{width}}  {p:6d} passed  {f:4d} failed")
    for line in failures:
        print("  FAIL", line)
    passed = sum(p for p, _ in counts.values()); failed = sum(f for _, f in counts.values())
    print(f"5xx answers: {server_errors}; 4xx without a JSON/HTML body: {non_json}; healthz after: {'ok' if healthy else 'FAILED'}; integrity: {integrity}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(0 if failed == 0 and healthy and integrity == "ok" else 1)


if __name__ == "__main__":
    main()
