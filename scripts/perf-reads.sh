#!/usr/bin/env bash
# The reads of issue 21 in one command (docs/PERFORMANCE.md, "Reads (issue 21)"): the release build
# with the bench, then `bulkwrite bench --reads` on gen_leads.py files of each size, SQLite and
# PostgreSQL: job details and the records list for DURATION seconds over CONNECTIONS keep-alive
# connections, and a Bulk Read export of every record; the JSON kept in docs/perf/.
#
#   scripts/perf-reads.sh                              # 25,000 and 1,000,000 rows, both backends
#   ROWS=25000 DURATION=3 scripts/perf-reads.sh        # a quick look
#   DATABASE_URL= scripts/perf-reads.sh                # SQLite only
#   BW=target/perfwork/bulkwrite.base WRK=1 ROWS=25000 scripts/perf-reads.sh   # another build, not rebuilt
#
# With WRK=1 (and wrk installed) job details are also driven by `wrk -t2 -c$CONNECTIONS` against a
# server of the same build holding one job, on SQLite and (with DATABASE_URL) on a fresh PostgreSQL
# database, as a cross-check of the bench's own load generator.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-25000,1000000}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10}
PERF_DIR=${PERF_DIR:-../shared/perf}
DATABASE_URL=${DATABASE_URL-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
OUT=${OUT:-docs/perf}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

if [ "${WRK:-0}" = 1 ] && ! command -v wrk > /dev/null; then
    echo "WRK=1 needs wrk (Debian: apt-get install wrk)" >&2
    exit 1
fi

if [ -z "${BW:-}" ]; then
    cargo build --release -p bulkwrite-cli --features bench
    BW="$CARGO_TARGET_DIR/release/bulkwrite"
fi
mkdir -p "$OUT"

common=(bench --reads --perf-dir "$PERF_DIR" --rows "$ROWS" --connections "$CONNECTIONS" --duration "$DURATION" --json)
"$BW" "${common[@]}" > "$OUT/reads-sqlite.json"
jsons=("$OUT/reads-sqlite.json")
if [ -n "$DATABASE_URL" ]; then
    "$BW" "${common[@]}" --database-url "$DATABASE_URL" > "$OUT/reads-postgresql.json"
    jsons+=("$OUT/reads-postgresql.json")
fi
python3 - "${jsons[@]}" <<'EOF'
import json, sys
for path in sys.argv[1:]:
    doc = json.load(open(path))
    for s in doc["sizes"]:
        d, l, e = s["job_details"], s["records_list"], s["export"]
        print(f'{doc["backend"]:<10} {s["rows"]:>8} rows  job details {d["requests_per_s"]:.0f} req/s p50 {d["p50_ms"]:.2f} ms p99 {d["p99_ms"]:.2f} ms'
              f' ({d["peak_rss_mib"] or 0:.0f} MiB)  list {l["requests_per_s"]:.0f} req/s {l["records_per_s"]:.0f} rec/s'
              f' ({l["peak_rss_mib"] or 0:.0f} MiB)  export {e["records"]} rows {e["ms"]/1000:.2f} s {e["rows_per_s"]:.0f} rows/s'
              f' ({e["peak_rss_mib"] or 0:.0f} MiB)')
EOF

# wrk_details LABEL [DATABASE_URL]: a server of the same build (on that database, else on SQLite),
# one job in it, and wrk against its job details.
wrk_details() {
    local label=$1 url=${2:-} base auth org file_id job
    # `dir` and `server` are global: the EXIT trap below stops the server if anything fails.
    dir=$(mktemp -d)
    local store=(--data-dir "$dir")
    [ -n "$url" ] && store+=(--database-url "$url")
    BULKWRITE_BOOTSTRAP_TOKEN=1000.wrk.wrk "$BW" serve --listen 127.0.0.1:0 "${store[@]}" > "$dir/out" 2>/dev/null &
    server=$!
    until grep -q listening "$dir/out" 2>/dev/null; do sleep 0.1; done
    base=$(sed -n 's/^bulkwrite listening on //p' "$dir/out" | head -1)
    printf 'Last_Name,Email,Company\nWrk,wrk@example.com,Acme\n' > "$dir/leads.csv"
    (cd "$dir" && zip -q leads.zip leads.csv)
    auth="Authorization: Zoho-oauthtoken 1000.wrk.wrk"
    org=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["org_id"])' "$dir/bootstrap.json")
    file_id=$(curl -s -H "$auth" -H 'feature: bulk-write' -H "X-CRM-ORG: $org" -F "file=@$dir/leads.zip" "$base/crm/v2/upload" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["details"]["file_id"])')
    job=$(curl -s -H "$auth" -H 'Content-Type: application/json' "$base/crm/bulk/v2/write" -d '{"operation":"insert","resource":[{"type":"data","module":"Leads","file_id":"'"$file_id"'","field_mappings":[{"api_name":"Last_Name","index":0},{"api_name":"Email","index":1},{"api_name":"Company","index":2}]}]}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["details"]["id"])')
    until curl -s -H "$auth" "$base/crm/bulk/v2/write/$job" | grep -q '"status":"COMPLETED"'; do sleep 0.1; done
    echo "wrk on $label job details:"
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$auth" "$base/crm/bulk/v2/write/$job"
    stop_server
}

stop_server() {
    if [ -n "${server:-}" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
    rm -rf "${dir:-}"
}

if [ "${WRK:-0}" = 1 ]; then
    name=
    trap 'stop_server; if [ -n "$name" ]; then psql -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $name"; fi' EXIT
    wrk_details SQLite
    if [ -n "$DATABASE_URL" ]; then
        # A fresh database beside the one DATABASE_URL names, dropped on exit.
        name="bw_wrk_$$"
        fresh=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$DATABASE_URL" "$name")
        psql -q "$DATABASE_URL" -c "CREATE DATABASE $name"
        wrk_details PostgreSQL "$fresh"
    fi
fi
