"""Starting a `veil serve` child for the campaign scripts (crash-test, hostile, overload)."""
import http.client, os, socket, subprocess, time

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
# The load comes from one address: the rate limits (tested on their own) would mask what is measured.
NO_RATE_LIMITS = ["--set", "rate_limits.client_per_second=0", "--set", "rate_limits.site_per_second=0"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def newest_binary(explicit=None):
    """The binary given, else the most recently built of release and debug."""
    if explicit:
        return explicit
    found = max((p for p in [".build/release/veil", ".build/debug/veil"] if os.path.exists(p)), key=os.path.getmtime, default=None)
    if not found:
        raise SystemExit("build veil first (swift build), or pass --binary")
    return found


def start(binary, data_dir, extra=()):
    """Starts veil on a free loopback port and waits (bounded) for /healthz; returns (process, port).
    `extra`: more command-line arguments (e.g. `--set` overrides)."""
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir] + NO_RATE_LIMITS + list(extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz", headers={"Connection": "close"})
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("veil did not start")
