#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol for Veil's browser tests and
benchmarks. Standard library only (a minimal WebSocket client), so CI needs nothing
beyond python3 and chromium.

Reads a plan as JSON on stdin and prints the results as JSON on stdout:
  {"chromium": "/usr/bin/chromium", "user_agent": "...", "width": 1280, "height": 800, "dark": false,
   "cookies": [{"name": "...", "value": "...", "url": "http://127.0.0.1:PORT"}],
   "steps": [{"navigate": "http://..."}, {"wait": "js expression", "timeout": 20},
             {"eval": "js expression", "as": "name"}, {"type": "text"}, {"click": "css selector", "at": [0.25, 0.5]},
             {"sleep": 0.5}, {"script_on_new_document": "js source"}, {"screenshot": "out.png"},
             {"wait_file": "/tmp/signal", "timeout": 30}]}
"wait_file" keeps the browser open until the caller creates the file (the caller waits
on a condition of its own, such as data arriving in the database, then signals).
Output: {"results": {name: value}, "exceptions": [...], "console_errors": [...], "error": null}
Every JS exception thrown in a page (Runtime.exceptionThrown) is reported.
"""
import base64, json, os, shutil, socket, struct, subprocess, sys, tempfile, time


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, path = url[5:].split("/", 1)
        host, port = hostport.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("websocket handshake failed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError("websocket handshake refused: " + head.decode(errors="replace"))

    def send(self, text):
        data = text.encode()
        header = bytes([0x81])
        n = len(data)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise RuntimeError("websocket closed")
            out += chunk
        return bytes(out)

    def recv(self):
        message = b""
        while True:
            b1, b2 = self._exact(2)
            n = b2 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b1 & 0x0F
            if opcode == 8:
                raise RuntimeError("websocket closed by browser")
            if opcode in (0, 1, 2):
                message += payload
                if b1 & 0x80:
                    return message.decode()


class Browser:
    def __init__(self, plan):
        self.profile = tempfile.mkdtemp(prefix="veil-cdp-")
        args = [plan.get("chromium", "/usr/bin/chromium"), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                f"--window-size={plan.get('width', 1280)},{plan.get('height', 800)}", "about:blank"]
        if plan.get("user_agent"):
            args.insert(1, f"--user-agent={plan['user_agent']}")
        if plan.get("dark"):
            args.insert(1, "--force-dark-mode")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and len(open(port_file).read().split("\n")) >= 2):
            if time.time() > deadline:
                raise RuntimeError("chromium did not start")
            time.sleep(0.05)
        port, path = open(port_file).read().split("\n")[:2]
        self.ws = WebSocket(f"ws://127.0.0.1:{port}{path}")
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Page", "Network"):
            self.call(domain + ".enable", {}, session=True)
        if plan.get("width", 1280) < 500:
            # A headless window is at least 500 px wide; narrower screens (phones) are emulated.
            self.call("Emulation.setDeviceMetricsOverride", {"width": plan["width"], "height": plan.get("height", 800),
                                                             "deviceScaleFactor": 1, "mobile": True}, session=True)
        if plan.get("dark"):
            self.call("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}, session=True)

    def call(self, method, params, session=False):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError("evaluate failed: " + json.dumps(result["exceptionDetails"])[:500])
        return result.get("result", {}).get("value")

    def close(self):
        try:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def run(plan):
    out = {"results": {}, "exceptions": [], "console_errors": [], "error": None}
    browser = Browser(plan)
    try:
        for cookie in plan.get("cookies", []):
            browser.call("Network.setCookie", cookie, session=True)
        for step in plan.get("steps", []):
            if "script_on_new_document" in step:
                browser.call("Page.addScriptToEvaluateOnNewDocument", {"source": step["script_on_new_document"]}, session=True)
            elif "navigate" in step:
                browser.call("Page.navigate", {"url": step["navigate"]}, session=True)
            elif "wait" in step:
                deadline = time.time() + step.get("timeout", 20)
                while True:
                    try:
                        if browser.evaluate(step["wait"]):
                            break
                    except RuntimeError:
                        pass
                    if time.time() > deadline:
                        raise RuntimeError("timed out waiting for " + step["wait"])
                    time.sleep(0.1)
            elif "eval" in step:
                value = browser.evaluate(step["eval"])
                if "as" in step:
                    out["results"][step["as"]] = value
            elif "type" in step:
                browser.call("Input.insertText", {"text": step["type"]}, session=True)
            elif "click" in step:
                # "at": [fx, fy] clicks that far across and down the element's box (default: its centre).
                fx, fy = step.get("at", [0.5, 0.5])
                box = browser.evaluate("(function(){var r=document.querySelector(%s).getBoundingClientRect();return [r.left+r.width*%s,r.top+r.height*%s]})()"
                                       % (json.dumps(step["click"]), float(fx), float(fy)))
                for kind in ("mousePressed", "mouseReleased"):
                    browser.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1}, session=True)
            elif "screenshot" in step:
                shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=True)
                with open(step["screenshot"], "wb") as f:
                    f.write(base64.b64decode(shot["data"]))
            elif "wait_file" in step:
                deadline = time.time() + step.get("timeout", 30)
                while not os.path.exists(step["wait_file"]):
                    if time.time() > deadline:
                        raise RuntimeError("timed out waiting for the caller's signal " + step["wait_file"])
                    time.sleep(0.05)
            elif "sleep" in step:
                time.sleep(step["sleep"])
        # Drain what arrived while the last step ran.
        browser.ws.sock.settimeout(0.3)
        try:
            while True:
                browser.events.append(json.loads(browser.ws.recv()))
        except (socket.timeout, RuntimeError, OSError):
            pass
    except Exception as error:  # reported, not raised: the caller asserts on it
        out["error"] = str(error)
    finally:
        for event in browser.events:
            if event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                out["exceptions"].append((details.get("exception") or {}).get("description") or details.get("text"))
            elif event.get("method") == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                out["console_errors"].append(" ".join(str(a.get("value", a.get("description", ""))) for a in event["params"].get("args", [])))
        browser.close()
    return out


if __name__ == "__main__":
    print(json.dumps(run(json.load(sys.stdin))))
