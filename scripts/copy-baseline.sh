#!/usr/bin/env bash
# The hand-written baseline of docs/PERFORMANCE.md: 25,000 Leads-like rows COPYed by psql into
# (1) a bare table and (2) bulkwrite's own records and keys tables with their indexes, in a
# scratch database that is dropped afterwards. Best of 5 per target, in milliseconds.
#
#   scripts/copy-baseline.sh [postgres://postgres@127.0.0.1:5432/test] [rows]
set -euo pipefail
url=${1:-postgres://postgres@127.0.0.1:5432/test}
rows=${2:-25000}
root=$(cd "$(dirname "$0")/.." && pwd)
db="bw_copy_baseline_$$"
work=$(mktemp -d)
server=${url%/*}
trap 'psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; rm -rf "$work"' EXIT
psql -q "$url" -c "CREATE DATABASE $db" >/dev/null
scratch="$server/$db"
cat "$root"/crates/store-postgres/migrations/*.sql | psql -q "$scratch" -v ON_ERROR_STOP=1 >/dev/null
# Thirteen fields per record, as the benchmark's Leads file has.
columns="(id, org, module, owner, layout_id, created_by, modified_by, created_at, modified_at, data)"
psql -q "$scratch" >/dev/null <<SQL
\copy (SELECT g, 1, 'Leads', 5, NULL, 5, 5, now(), now(), json_build_object('Last_Name', 'Last' || g, 'First_Name', 'First' || g, 'Company', 'Company ' || g % 500, 'Email', 'lead' || g || '@x.example.com', 'Phone', '+1 555 ' || g % 10000, 'Mobile', '+1 555 ' || g * 7 % 10000, 'Owner', json_build_object('id', '5'), 'Date_3', '2024-01-01', 'No_of_Employees', g % 5000, 'Annual_Revenue', g * 10.5, 'Email_Opt_Out', g % 2 = 0, 'Lead_Source', 'Web Download', 'Description', 'Imported, row ' || g)::text FROM generate_series(1, $rows) g) TO '$work/records.csv' CSV
\copy (SELECT 1, 'Leads', 'Email', 'lead' || g || '@x.example.com', g FROM generate_series(1, $rows) g) TO '$work/keys.csv' CSV
CREATE TEMP TABLE staged (LIKE records);
\copy staged $columns from '$work/records.csv' csv
\copy staged $columns TO '$work/records.bin' (FORMAT binary)
SQL
best() { # label, setup SQL, table, file, format
  local times=()
  for _ in 1 2 3 4 5; do
    psql -q "$scratch" -c "SET client_min_messages = warning; $2" >/dev/null
    times+=("$(psql "$scratch" -c '\timing on' -c "\\copy $3 from '$work/$4' (FORMAT ${5:-csv})" | sed -n 's/^Time: \([0-9]*\).*/\1/p')")
  done
  printf '%-48s best %4s ms  (%s)\n' "$1" "$(printf '%s\n' "${times[@]}" | sort -n | head -1)" "${times[*]}"
}
echo "hand-written COPY of $rows rows (psql \\copy), best of 5:"
best "records into a bare table (no index)" "DROP TABLE IF EXISTS bare; CREATE TABLE bare (LIKE records)" "bare $columns" records.csv
best "records into bulkwrite's table and indexes" "TRUNCATE records" "records $columns" records.csv
best "keys into bulkwrite's table and indexes" "TRUNCATE record_keys" "record_keys" keys.csv
best "records into a bare table (no index), binary" "DROP TABLE IF EXISTS bare; CREATE TABLE bare (LIKE records)" "bare $columns" records.bin binary
best "records into bulkwrite's table, binary" "TRUNCATE records" "records $columns" records.bin binary
