#!/usr/bin/env python3
"""Recorder benchmark: time of the first full snapshot of a 10,000-node page, Veil's
recorder (vr.js, served by a running Veil) against rrweb-record 1.1.3 (from the
django-rrweb wheel, fetched by scripts/fetch-rrweb.py), in the same headless Chromium,
alternating runs; prints the median of each and their ratio, and the recorders' sizes.

  scripts/bench-recorder.py [--veil .build/release/veil] [--runs 7] [--nodes 10000]

Not a test: wall-clock figures on a shared machine are noisy. Record results in BENCHMARKS.md.
"""
import argparse, gzip, http.server, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import cdp  # noqa: E402
from veil_process import free_port  # noqa: E402


def page(nodes, script):
    # A table of 1 000-ish rows, 9 nodes each (tr, 4 td, 4 text) plus a form: ~`nodes` nodes.
    rows = max(1, (nodes - 40) // 9)
    body = "".join(f"<tr><td>{i}</td><td>Item number {i}</td><td class=\"n\">{i * 7 % 100}.00</td><td><a href=\"/item/{i}\">open</a></td></tr>" for i in range(rows))
    return f"""<!doctype html><html><head><title>bench</title><style>td{{padding:2px}} .n{{text-align:right}}</style></head>
<body><h1>Orders</h1><form><input name="q" value="search"><select><option>a</option><option>b</option></select></form>
<table>{body}</table>{script}</body></html>"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--veil", default=os.path.join(ROOT, ".build/release/veil"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    if not os.path.exists(args.veil):
        args.veil = os.path.join(ROOT, ".build/debug/veil")
    rrweb_dir = subprocess.run([sys.executable, os.path.join(HERE, "fetch-rrweb.py")], check=True, capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="veil-bench-rec-")
    veil_port, page_port = free_port(), free_port()
    veil = subprocess.Popen([args.veil, "serve", "--data-dir", os.path.join(work, "data"), "--set", f"listen=127.0.0.1:{veil_port}", "--set", "log_level=warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        shutil.copy(os.path.join(rrweb_dir, "rrweb-record-1-1-3.js"), os.path.join(work, "rrweb-record.js"))
        with open(os.path.join(work, "veil.html"), "w") as f:
            f.write(page(args.nodes, f'<script src="http://127.0.0.1:{veil_port}/vr.js" data-site="localhost"></script>'))
        with open(os.path.join(work, "rrweb.html"), "w") as f:
            f.write(page(args.nodes, '<script src="rrweb-record.js"></script><script>window.addEventListener("load",function(){var ev=[],t0=performance.now();'
                                     'rrwebRecord({emit:function(e){ev.push(e)}});window.__rrwebSnapshotMs=performance.now()-t0;window.__rrwebEvents=ev.length})</script>'))
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=work, **k)
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        server = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", veil_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        veil_ms, rrweb_ms, count = [], [], None
        for _ in range(args.runs):
            for kind in ("veil", "rrweb"):
                var = "__veilSnapshotMs" if kind == "veil" else "__rrwebSnapshotMs"
                out = cdp.run({"chromium": args.chromium, "steps": [
                    {"navigate": f"http://127.0.0.1:{page_port}/{kind}.html"},
                    {"wait": f"window.{var} > 0", "timeout": 60},
                    {"eval": f"window.{var}", "as": "ms"},
                    {"eval": "document.getElementsByTagName('*').length + document.evaluate('count(//text())', document, null, 1, null).numberValue", "as": "nodes"}]})
                if out["error"]:
                    sys.exit(f"{kind}: {out['error']}")
                (veil_ms if kind == "veil" else rrweb_ms).append(out["results"]["ms"])
                count = out["results"]["nodes"]
        v, r = statistics.median(veil_ms), statistics.median(rrweb_ms)
        def gz(path):
            data = open(path, "rb").read()
            return len(data), len(gzip.compress(data, 9))
        vr = gz(os.path.join(ROOT, "Resources/js/vr.js"))
        rr = gz(os.path.join(rrweb_dir, "rrweb-record-1-1-3.js"))
        print(f"page: {count:.0f} nodes (elements + text), {args.runs} runs each, alternating, medians")
        print(f"first full snapshot  Veil vr.js: {v:8.1f} ms   rrweb-record 1.1.3: {r:8.1f} ms   ratio {v / r:.2f}")
        print(f"  all runs (ms)  Veil: {', '.join(f'{x:.1f}' for x in veil_ms)}")
        print(f"                 rrweb: {', '.join(f'{x:.1f}' for x in rrweb_ms)}")
        print(f"size  vr.js: {vr[0]} B, {vr[1]} B gzipped   rrweb-record 1.1.3: {rr[0]} B, {rr[1]} B gzipped")
        server.shutdown()
    finally:
        veil.terminate()
        veil.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
