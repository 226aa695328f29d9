#!/usr/bin/env python3
"""Fetches rrweb-record 1.1.3 and rrweb-player 0.7.14 from the django-rrweb 4.0.5 wheel on
PyPI into .build-rrweb/ (git-ignored; never committed) and prints that folder. Used by the
rrweb-player compatibility test and the recorder benchmark. Needs pip (python3 -m pip)."""
import os, subprocess, sys, tempfile, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEST = os.path.join(ROOT, ".build-rrweb")
FILES = {"rrweb-record-1-1-3.js", "rrweb-player-0-7-14.js"}

if all(os.path.exists(os.path.join(DEST, f)) for f in FILES):
    print(DEST)
    sys.exit(0)
with tempfile.TemporaryDirectory() as tmp:
    # pip speaks PyPI's simple index (the JSON API is not always reachable behind mirrors).
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary=:all:", "-d", tmp, "django-rrweb==4.0.5"],
                   check=True, stdout=sys.stderr)
    wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
    os.makedirs(DEST, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            base = os.path.basename(name)
            if base in FILES:
                with open(os.path.join(DEST, base), "wb") as out:
                    out.write(z.read(name))
missing = [f for f in FILES if not os.path.exists(os.path.join(DEST, f))]
if missing:
    sys.exit("django-rrweb 4.0.5 did not contain " + ", ".join(missing))
print(DEST)
