#!/usr/bin/env python3
"""Loads a Veil raw-event export (.ndjson.gz) with DuckDB and prints pageviews per UTC
day and per page as JSON, for ExportWarehouseTests to compare with Veil's own API.

    python duckdb-check.py events.ndjson.gz
"""
import json
import sys

import duckdb


def main():
    path = sys.argv[1]
    con = duckdb.connect()
    rel = f"read_json_auto('{path}', format='newline_delimited', compression='gzip')"
    days = con.execute(f"SELECT strftime(CAST(\"time\" AS TIMESTAMP), '%Y-%m-%d') AS d, count(*) FROM {rel} WHERE name = 'pageview' GROUP BY d").fetchall()
    pages = con.execute(f"SELECT path, count(*) FROM {rel} WHERE name = 'pageview' GROUP BY path").fetchall()
    visitors = con.execute(f"SELECT count(DISTINCT visitor) FROM {rel}").fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    json.dump({"days": dict(days), "pages": dict(pages), "visitors": visitors, "events": total}, sys.stdout)


if __name__ == "__main__":
    main()
