#!/usr/bin/env python3
"""Diffs two days of the bureau feed with DuckDB, the way a user would: read both days' NDJSON
parts, FULL OUTER JOIN them on the subject, and keep the subjects that are new, removed, or whose
record changed (a hash of the whole row differs).

    duckdb_diff.py OLD_DAY_DIR NEW_DAY_DIR [--out FILE] [--threads N]

A day folder holds part-NNNN.ndjson or part-NNNN.ndjson.gz files. Prints one JSON line:
{"seconds": wall time of the diff (after Python and DuckDB are loaded), "changed": ..., "new":
..., "removed": ..., "threads": ...}. With --out, the subjects and what happened to them are
also written to FILE as CSV (subject,change), sorted by subject; that is part of the timing.

The schema is given rather than sniffed: a sniffer samples the first rows only, and a part that
holds only companies would hide the individuals' fields from it (and from the comparison).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

COLUMNS = {
    "subject": "VARCHAR",
    "kind": "VARCHAR",
    "name": "VARCHAR",
    "dob": "VARCHAR",
    "company": "STRUCT(name VARCHAR, status VARCHAR, registration_number VARCHAR)",
    "addresses": "STRUCT(line1 VARCHAR, city VARCHAR, postcode VARCHAR, country VARCHAR,"
    " source VARCHAR, reported VARCHAR)[]",
    "defaults": "STRUCT(creditor VARCHAR, amount_cents BIGINT, currency VARCHAR, date VARCHAR)[]",
    "judgements": "STRUCT(court VARCHAR, amount_cents BIGINT, currency VARCHAR, date VARCHAR)[]",
    "insolvencies": 'STRUCT("type" VARCHAR, date VARCHAR)[]',
    "enquiries": "STRUCT(enquirer VARCHAR, product VARCHAR, date VARCHAR)[]",
    "directorships": "STRUCT(company_number VARCHAR, company_name VARCHAR, appointed VARCHAR)[]",
    "shareholdings": "STRUCT(company_number VARCHAR, company_name VARCHAR, shares BIGINT)[]",
    "score": "STRUCT(value INTEGER, band VARCHAR, model VARCHAR, date VARCHAR)",
    "financial_statements": "STRUCT(period_end VARCHAR, filed VARCHAR, turnover BIGINT,"
    " profit_loss BIGINT, net_assets BIGINT, currency VARCHAR)[]",
}


def quote(text):
    return "'" + text.replace("'", "''") + "'"


def parts(day_dir):
    files = sorted(
        p for p in Path(day_dir).iterdir() if p.name.startswith("part-") and ".ndjson" in p.name
    )
    if not files:
        sys.exit(f"duckdb_diff: no part-*.ndjson[.gz] files in {day_dir}")
    return files


def read_day(files):
    listing = ", ".join(quote(str(f)) for f in files)
    columns = "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in COLUMNS.items()) + "}"
    return (
        f"SELECT subject, hash(day) AS record FROM read_json([{listing}],"
        f" format = 'newline_delimited', columns = {columns}) AS day"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old_day")
    parser.add_argument("new_day")
    parser.add_argument("--out", help="write subject,change rows to this CSV file")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: every core)")
    args = parser.parse_args()

    started = time.perf_counter()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    con.execute(
        f"""
        CREATE TEMP TABLE diff AS
        WITH old AS ({read_day(parts(args.old_day))}),
             new AS ({read_day(parts(args.new_day))})
        SELECT coalesce(new.subject, old.subject) AS subject,
               CASE WHEN old.subject IS NULL THEN 'new'
                    WHEN new.subject IS NULL THEN 'removed'
                    ELSE 'changed' END AS change
        FROM old FULL OUTER JOIN new ON old.subject = new.subject
        WHERE old.subject IS NULL OR new.subject IS NULL OR old.record <> new.record
        """
    )
    counts = dict(con.execute("SELECT change, count(*) FROM diff GROUP BY change").fetchall())
    if args.out:
        con.execute(f"COPY (SELECT * FROM diff ORDER BY subject) TO {quote(args.out)} (HEADER)")
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    seconds = time.perf_counter() - started

    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "changed": counts.get("changed", 0),
                "new": counts.get("new", 0),
                "removed": counts.get("removed", 0),
                "threads": threads,
            }
        )
    )


if __name__ == "__main__":
    main()
