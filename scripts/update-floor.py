#!/usr/bin/env python3
"""What the database itself takes to update every row of a file, beside the floor's insert of it.

The floor (../shared/perf) inserts a Leads file into a table with a unique Email index, in one
transaction, and nothing else. This adds the other half of an upsert by Email over the records
that insert made, with nothing around it either: the same file staged into a scratch table, then
one `UPDATE … FROM` that finds every row's record by its Email (an index probe each, the way a
job's chunks find theirs) and rewrites it. No locks, no before-images, no result rows, no HTTP.
The ratio `update / insert` is the database's own share of an upsert beside an insert: the
yardstick docs/PERFORMANCE.md holds the bench's `upsert / insert` against.

    FLOOR=target/floor/build/release/limits ROWS=25000,1000000 RUNS=3 scripts/update-floor.py

On PostgreSQL the floor's table is rewritten with FILLFACTOR (default 50, as bulkwrite's
`records`: half of each page left free, so that a record's new version goes on its own page, a
heap-only update with no new index entry) before the `UPDATE`, untimed; FILLFACTOR=100 updates
the table as the floor's `COPY` filled it (each new version on another page, a new index entry
each: about twice as long).

FLOOR is the floor's binary; without it the floor is built from PERF_DIR/floor (cargo) into
WORK/build. ROWS, RUNS, PERF_DIR (for gen_leads.py and the floor), WORK (files, default
target/floor) and DATABASE_URL (a PostgreSQL server; empty for SQLite only) as for
scripts/perf.sh; BACKENDS (`sqlite,postgresql`) picks either. Each run on PostgreSQL uses a
scratch database it creates and drops; psql must be on the PATH.
"""

import csv
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile

FLOOR = os.environ.get("FLOOR")
ROWS = [int(n) for n in os.environ.get("ROWS", "25000,1000000").split(",")]
RUNS = int(os.environ.get("RUNS", "3"))
PERF_DIR = os.environ.get("PERF_DIR", "../shared/perf")
WORK = os.environ.get("WORK", "target/floor")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
BACKENDS = os.environ.get("BACKENDS", "sqlite,postgresql").split(",")
FILLFACTOR = int(os.environ.get("FILLFACTOR", "50"))

COLUMNS = ["last_name", "first_name", "email", "company", "phone", "mobile", "lead_source",
           "annual_revenue", "no_of_employees", "date_3", "owner", "description"]

PG_UPDATE = """UPDATE leads l SET last_name = r.last_name, first_name = r.first_name,
    company = r.company, phone = r.phone, mobile = r.mobile, lead_source = r.lead_source,
    annual_revenue = r.annual_revenue::numeric, no_of_employees = r.no_of_employees::int,
    date_3 = to_date(r.date_3, 'YYYY/MM/DD'), owner = r.owner::bigint, description = r.description
    FROM leads_raw r WHERE l.email = r.email"""

SQLITE_UPDATE = """UPDATE leads SET last_name = r.last_name, first_name = r.first_name,
    company = r.company, phone = r.phone, mobile = r.mobile, lead_source = r.lead_source,
    annual_revenue = r.annual_revenue, no_of_employees = r.no_of_employees,
    date_3 = replace(r.date_3, '/', '-'), owner = r.owner, description = r.description
    FROM leads_raw r WHERE leads.email = r.email"""


def built_floor():
    """The floor's binary: FLOOR, or built from PERF_DIR/floor into WORK/build (as the bench does)."""
    if FLOOR:
        if not os.path.exists(FLOOR):
            sys.exit(f"FLOOR={FLOOR}: no such file (leave FLOOR unset to build the floor from {PERF_DIR}/floor)")
        return FLOOR
    subprocess.run(["cargo", "build", "--release", "--manifest-path", os.path.join(PERF_DIR, "floor", "Cargo.toml"),
                    "--target-dir", os.path.join(WORK, "build")], check=True)
    return os.path.join(WORK, "build", "release", "limits")


def files(rows):
    """The gen_leads.py file of `rows` rows (seed 42) and its zip, made if missing."""
    csv_path = os.path.join(WORK, f"leads_{rows}_seed42.csv")
    zip_path = os.path.join(WORK, f"leads_{rows}_seed42_update_floor.zip")
    if not os.path.exists(csv_path):
        subprocess.run([sys.executable, os.path.join(PERF_DIR, "gen_leads.py"), str(rows), csv_path,
                        "--seed", "42"], check=True)
    if not os.path.exists(zip_path):
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(csv_path, "leads.csv")
    return csv_path, zip_path


def floor(limits, *args):
    """Runs the floor; its `secs=` (the whole job: inflate, parse, validate, store, result zip)."""
    out = subprocess.run([limits, *args], check=True, capture_output=True, text=True).stdout
    fields = dict(part.split("=", 1) for part in out.split() if "=" in part)
    return float(fields["secs"])


def psql(url, *commands):
    """Runs `commands` in one psql session; the seconds of each, by psql's `\\timing`."""
    args = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", "\\timing on"]
    for command in commands:
        args += ["-c", command]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return [float(line.split()[1]) / 1000 for line in out.splitlines() if line.startswith("Time:")]


def postgres_run(limits, rows):
    csv_path, zip_path = files(rows)
    parts = urllib.parse.urlsplit(DATABASE_URL)
    name = f"zz_update_floor_{os.getpid()}"
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name, query=""))
    psql(DATABASE_URL, f"CREATE DATABASE {name}")
    try:
        floor(limits, "pg-reset", url, "--unique", "before")
        with tempfile.TemporaryDirectory() as scratch:
            insert = floor(limits, "e2e", zip_path, f"pg-copy:{url}", os.path.join(scratch, "out.zip"),
                           "--threads", "2", "--level", "1", "--unique", "none")
        refill = []
        if FILLFACTOR != 100:
            refill = [f"ALTER TABLE leads SET (fillfactor = {FILLFACTOR})", "VACUUM FULL leads"]
        times = psql(url,
                     f"\\copy leads_raw FROM '{csv_path}' CSV HEADER", *refill,
                     "ANALYZE leads_raw", "ANALYZE leads", "CHECKPOINT",
                     # One index probe a row, as a job's chunks do (a hash join of the whole
                     # table is no cheaper here: 18.6 s against 13.3 s at 1,000,000 rows).
                     "SET enable_hashjoin = off", "SET enable_mergejoin = off",
                     PG_UPDATE)
        return insert, times[0], times[-1]
    finally:
        psql(DATABASE_URL, f"DROP DATABASE IF EXISTS {name}")


def sqlite_run(limits, rows):
    csv_path, zip_path = files(rows)
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "floor.db")
        insert = floor(limits, "e2e", zip_path, f"sqlite:{db}", os.path.join(scratch, "out.zip"),
                       "--threads", "2", "--level", "1", "--unique", "before")
        conn = sqlite3.connect(db, isolation_level=None)
        conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                           "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;")
        conn.execute(f"CREATE TEMP TABLE leads_raw ({', '.join(COLUMNS)})")
        started = time.perf_counter()
        with open(csv_path, newline="") as f:
            reader = csv.reader(f)
            next(reader)
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO leads_raw VALUES ({', '.join('?' * len(COLUMNS))})", reader)
            conn.execute("COMMIT")
        stage = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.execute(SQLITE_UPDATE)
        conn.execute("COMMIT")
        update = time.perf_counter() - started
        conn.close()
    return insert, stage, update


def main():
    limits = built_floor()
    backends = []
    if "sqlite" in BACKENDS:
        backends.append(("SQLite", sqlite_run))
    if "postgresql" in BACKENDS and DATABASE_URL:
        backends.append(("PostgreSQL", postgres_run))
    print(f"backend     rows       floor insert  stage    update   update / insert"
          f"   (PostgreSQL's table: fillfactor {FILLFACTOR})")
    for label, run in backends:
        for rows in ROWS:
            results = []
            for _ in range(RUNS):
                insert, stage, update = run(limits, rows)
                results.append((insert, stage, update))
                print(f"{label:<11} {rows:<10} {insert:>8.3f} s  {stage:>6.3f} s {update:>7.3f} s  "
                      f"{update / insert:.2f}x", flush=True)
            insert = statistics.median(r[0] for r in results)
            update = statistics.median(r[2] for r in results)
            print(f"{label:<11} {rows:<10} medians: insert {insert:.3f} s, update {update:.3f} s, "
                  f"update / insert {statistics.median(r[2] / r[0] for r in results):.2f}x", flush=True)


if __name__ == "__main__":
    main()
