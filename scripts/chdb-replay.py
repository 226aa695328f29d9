#!/usr/bin/env python3
"""Replays Veil's ClickHouse statements on chDB, the in-process engine of a current
ClickHouse (PyPI `chdb`), and prints what each answered.

Used by ClickHouseCompatibilityTests: the test records every statement Veil sent to
Debian's ClickHouse 18.16 (and its answer); this replays them, in order, in a fresh chDB
session, so the test can check that current ClickHouse accepts the same SQL and gives
the same answers.

    python chdb-replay.py IN.json OUT.json

IN: {"database": NAME, "statements": [{"sql": TEXT, "data": TEXT or null}, ...]}; an
insert's statement is in "sql" and its rows in "data". OUT: [{"ok": bool, "answer":
TEXT, "error": TEXT}, ...], one per statement. Mutations run synchronously here
(`mutations_sync`), as Veil waits for them itself.
"""
import json
import shutil
import sys
import tempfile

from chdb import session


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        plan = json.load(f)
    folder = tempfile.mkdtemp(prefix="veil-chdb-")
    out = []
    try:
        s = session.Session(folder)
        s.query(f"CREATE DATABASE IF NOT EXISTS {plan['database']}")
        s.query(f"USE {plan['database']}")
        s.query("SET mutations_sync = 2")
        for st in plan["statements"]:
            sql = st["sql"] if st.get("data") is None else st["sql"] + "\n" + st["data"]
            try:
                answer = s.query(sql, "TabSeparated")
                out.append({"ok": True, "answer": answer.bytes().decode("utf-8", "replace") if answer is not None else "", "error": ""})
            except Exception as error:  # chDB raises its own error types; every one is a finding
                out.append({"ok": False, "answer": "", "error": str(error)[:2000]})
        s.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
