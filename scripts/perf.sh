#!/usr/bin/env bash
# The whole measurement of docs/PERFORMANCE.md in one command: the release build with the bench,
# the job beside the floor (../shared/perf) on gen_leads.py files of each size, SQLite and
# PostgreSQL, three runs each (medians), the JSON kept in docs/perf/, the chart drawn from it.
#
#   scripts/perf.sh                         # 25,000, 100,000 and 1,000,000 rows, both backends
#   ROWS=25000 RUNS=1 scripts/perf.sh       # a quick look
#   DATABASE_URL=… PERF_DIR=… scripts/perf.sh
#
# FLOOR=PATH uses a built floor instead of building it from $PERF_DIR/floor.
# Needs cargo, python3 and (for PostgreSQL) a server at $DATABASE_URL; set DATABASE_URL= (empty)
# to run SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-25000,100000,1000000}
RUNS=${RUNS:-3}
PERF_DIR=${PERF_DIR:-../shared/perf}
DATABASE_URL=${DATABASE_URL-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
OUT=${OUT:-docs/perf}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

cargo build --release -p bulkwrite-cli --features bench
BW="$CARGO_TARGET_DIR/release/bulkwrite"
mkdir -p "$OUT"

"$BW" bench ${FLOOR:+--floor "$FLOOR"} --perf-dir "$PERF_DIR" --rows "$ROWS" --runs "$RUNS" --json > "$OUT/sqlite.json"
jsons=("$OUT/sqlite.json")
if [ -n "$DATABASE_URL" ]; then
    "$BW" bench ${FLOOR:+--floor "$FLOOR"} --perf-dir "$PERF_DIR" --rows "$ROWS" --runs "$RUNS" --database-url "$DATABASE_URL" --json > "$OUT/postgresql.json"
    jsons+=("$OUT/postgresql.json")
fi
python3 scripts/perf-chart.py "$OUT/chart.svg" "${jsons[@]}"
python3 - "${jsons[@]}" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    doc = json.load(open(path))
    for s in doc["sizes"]:
        m, r = s["median"], s["ratio"]
        f = lambda v, unit="": "n/a" if v is None else f"{v:.0f}{unit}" if unit else f"{v:.2f}x"
        print(f'{doc["backend"]:<10} {s["rows"]:>8} rows  floor {f(m["floor_ms"], " ms")}  bulkwrite {f(m["insert_ms"], " ms")}'
              f'  ratio {f(r["insert_to_floor"])}  upsert/insert {f(r["upsert_to_insert"])}  peak RSS {f(s["max_peak_rss_mib"], " MiB")}')
EOF
