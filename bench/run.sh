#!/usr/bin/env bash
# The benchmark: lookup, CSV export and withdrawal at ROWS customers (default 1,000,000, two
# leads each, and ROWS entries on each blacklist), on PostgreSQL and SQLite, beside what the
# same machine's PostgreSQL does on its own (pgbench -S, psql \copy), with the scaling from
# ROWS/10, and the SDK's full download of both blacklists beside a plain curl of the same CSV.
# The service's emails go to a loopback SMTP sink that accepts them (bench/smtp_sink.py).
# Prints a table at the end, with each ratio against PostgreSQL's own figure.
#
#   bench/run.sh                 # the full run (release build)
#   BENCH_PROFILE=dev bench/run.sh 3000 5   # the smoke run CI does: 3,000 rows, 5 s per load
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${1:-1000000}"
SECONDS_PER_LOAD="${2:-15}"
SMALL=$((ROWS / 10))
PROFILE="${BENCH_PROFILE:-release}"
BACKENDS="${BENCH_BACKENDS:-postgres sqlite}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
export POPIA_JWT_SECRET="bench-secret-bench-secret-bench-secret-0123456789"
# No TLS to PostgreSQL on loopback (libpq would negotiate it by default): it would measure
# OpenSSL, about 8 % of the machine in the withdrawal load, which a service on the database's
# host does not pay (and one across hosts pays whatever its network adds). The same setting
# reaches psql and pgbench, so ratios compare like with like.
export PGSSLMODE="${PGSSLMODE:-disable}"

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --quiet --profile "$PROFILE" -p popia-api
cargo build --quiet --profile "$PROFILE" --example pull_blacklist
target_dir=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
binary="target/$target_dir/popia-api"
sdk_pull="target/$target_dir/examples/pull_blacklist"
work=$(mktemp -d)
server=""
sink=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$sink" ] && kill "$sink" 2>/dev/null || true
  for db in popia_bench popia_pgbench; do psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
results="$work/results"
: >"$results"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" | tee -a "$results"; }

python3 bench/smtp_sink.py >"$work/sink.port" 2>"$work/sink.log" &
sink=$!
until [ -s "$work/sink.port" ]; do sleep 0.01; done
sink_port=$(cat "$work/sink.port")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
now_ms() { date +%s%3N; }

start_server() { # url; sets $server and $ready_ms (no subshell: the pid must stay known)
  local started=$(now_ms)
  POPIA_DATA_DIR="$work/data" POPIA_OUTBOX_BACKOFF=1h RUST_LOG=warn \
    "$binary" serve --bind "127.0.0.1:$port" --database-url "$1" --smtp-url "smtp://127.0.0.1:$sink_port?tls=none" >>"$work/server.log" 2>&1 &
  server=$!
  until curl -fs "$base/readyz" >/dev/null 2>&1; do sleep 0.005; done
  ready_ms=$(( $(now_ms) - started ))
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

run_sql() { # backend url sql
  if [ "$1" = postgres ]; then psql "$2" -qtAX -v ON_ERROR_STOP=1 -c "$3"; else sqlite3 "${2#sqlite://}" "$3"; fi
}

# Seeds customers FROM..TO (and their leads and blacklist entries) in chunks, with a bar.
seed() { # backend url from to
  local backend=$1 url=$2 from=$3 to=$4 chunk=100000 done_rows=0 total=$(( $4 - $3 + 1 ))
  local at=$from
  while [ "$at" -le "$to" ]; do
    local end=$(( at + chunk - 1 )); [ "$end" -gt "$to" ] && end=$to
    if [ "$backend" = postgres ]; then
      local series="generate_series($at, $end) AS n"
      run_sql "$backend" "$url" "
        INSERT INTO customers (id, dealer_id, first_name, last_name, email, mobile, consent_process, consent_market, consent_source, created_at, updated_at)
          SELECT n, 'bench', (ARRAY['Thabo','Naledi','Pieter','Aisha','Sipho','Anna','Lerato','Johan'])[n % 8 + 1],
                 (ARRAY['Nkosi','Dlamini','van der Merwe','Patel','Mokoena','Botha','Naidoo','Smith'])[n % 7 + 1],
                 'customer' || n || '@mail.co.za', '+2782' || lpad(n::text, 7, '0'), true, n % 2 = 0, 'website', now(), now()
          FROM $series;
        INSERT INTO leads (dealer_id, customer_id, status, recipient_name, recipient_email, source, vehicle, message, created_at, updated_at)
          SELECT 'bench', n, 'active', 'Ashveer Singh', 'ashveer@bench.co.za', 'website', 'VW Polo', 'Please call me', now(), now() FROM $series, generate_series(1, 2);
        INSERT INTO blacklist_emails (dealer_id, value, added_on, changed_on)
          SELECT 'bench', 'listed' || n || '@mail.co.za', DATE '2026-01-01' + n % 300, DATE '2026-01-01' + n % 300 FROM $series;
        INSERT INTO blacklist_mobiles (dealer_id, value, added_on, changed_on)
          SELECT 'bench', '+2783' || lpad(n::text, 7, '0'), DATE '2026-01-01' + n % 300, DATE '2026-01-01' + n % 300 FROM $series;"
    else
      local series="WITH RECURSIVE s(n) AS (SELECT $at UNION ALL SELECT n + 1 FROM s WHERE n < $end)"
      run_sql "$backend" "$url" "BEGIN;
        $series INSERT INTO customers (id, dealer_id, first_name, last_name, email, mobile, consent_process, consent_market, consent_source, created_at, updated_at)
          SELECT n, 'bench', 'Thabo', 'Nkosi', 'customer' || n || '@mail.co.za', '+2782' || substr('0000000' || n, -7), 1, n % 2, 'website', datetime('now'), datetime('now') FROM s;
        $series INSERT INTO leads (dealer_id, customer_id, status, recipient_name, recipient_email, source, vehicle, message, created_at, updated_at)
          SELECT 'bench', n, 'active', 'Ashveer Singh', 'ashveer@bench.co.za', 'website', 'VW Polo', 'Please call me', datetime('now'), datetime('now') FROM s, (SELECT 1 UNION ALL SELECT 2);
        $series INSERT INTO blacklist_emails (dealer_id, value, added_on, changed_on)
          SELECT 'bench', 'listed' || n || '@mail.co.za', date('2026-01-01', '+' || (n % 300) || ' days'), date('2026-01-01', '+' || (n % 300) || ' days') FROM s;
        $series INSERT INTO blacklist_mobiles (dealer_id, value, added_on, changed_on)
          SELECT 'bench', '+2783' || substr('0000000' || n, -7), date('2026-01-01', '+' || (n % 300) || ' days'), date('2026-01-01', '+' || (n % 300) || ' days') FROM s;
        COMMIT;"
    fi
    done_rows=$(( end - from + 1 ))
    local width=40 filled=$(( done_rows * 40 / total ))
    printf '\r  seeding %s [%-*s] %d/%d' "$backend" "$width" "$(printf '%*s' "$filled" '' | tr ' ' '#')" "$done_rows" "$total" >&2
    at=$(( end + 1 ))
  done
  printf '\n' >&2
  if [ "$backend" = postgres ]; then
    run_sql "$backend" "$url" "SELECT setval('customers_id_seq', (SELECT max(id) FROM customers)); SELECT setval('leads_id_seq', (SELECT max(id) FROM leads))" >/dev/null
    # Sets the hint bits and the visibility map now, so that neither the first reads nor an
    # autovacuum during the load are measured.
    run_sql "$backend" "$url" "VACUUM ANALYZE" >/dev/null
  else
    run_sql "$backend" "$url" "ANALYZE;" >/dev/null
  fi
}

pending_emails() { # url -> messages queued and not yet delivered
  local sql="SELECT count(*) FROM outbox_messages WHERE status = 'pending'"
  case "$1" in
    sqlite://*) sqlite3 -cmd ".timeout 5000" "${1#sqlite://}" "$sql" ;;
    *) psql "$1" -Atc "$sql" ;;
  esac || echo "?"
}

drain_seconds() { # url -> seconds until the outbox is empty (at most 300), after a load
  local start=$(date +%s.%N)
  for _ in $(seq 3000); do
    [ "$(pending_emails "$1")" = 0 ] && break
    sleep 0.1
  done
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

wrk_figures() { # wrk output -> "req/s p50 p99"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print rps, p50, p99}' "$1"
}

peak_rss_during() { # pid command... -> runs the command, prints "seconds growth_mb"
  local pid=$1; shift
  local before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  local peak=$before
  "$@" & local job=$!
  local started=$(now_ms)
  while kill -0 $job 2>/dev/null; do
    local now=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.01
  done
  wait $job
  echo "$(( $(now_ms) - started )) $(( (peak - before) / 1024 ))"
}

measure() { # backend url rows label
  local backend=$1 url=$2 rows=$3
  local dealer_token=$("$binary" token --role dealer --dealer bench --sub bench --ttl 2h)
  BENCH_ROWS=$rows BENCH_TOKEN=$dealer_token wrk -t2 -c64 -d"${SECONDS_PER_LOAD}s" --latency -s bench/lookup.lua "$base" >"$work/lookup.txt"
  read rps p50 p99 < <(wrk_figures "$work/lookup.txt")
  lookup_rps=$rps
  record "$backend $rows" "lookup by mobile, 64 connections" "$rps req/s, p50 $p50, p99 $p99"
  # Three of each, the median kept: one export takes under a second, so one run is noisy.
  local runs=() growth=0 csv ms g
  for _ in 1 2 3; do
    csv=$(peak_rss_during "$server" curl -s -o "$work/export.csv" -H "Authorization: Bearer $dealer_token" -H 'Accept: text/csv' "$base/v1/dealers/bench/blacklist/emails")
    read ms g <<<"$csv"
    runs+=("$ms"); [ "$g" -gt "$growth" ] && growth=$g
  done
  ms=$(median "${runs[@]}")
  record "$backend $rows" "CSV export of $(( $(wc -l <"$work/export.csv") - 1 )) emails (median of 3)" "${ms} ms (${runs[*]}), server RSS growth ${growth} MB at most"
  if [ "$backend" = postgres ]; then
    local copies=() started
    for _ in 1 2 3; do
      started=$(now_ms)
      psql "$url" -qc "\\copy (SELECT value, added_on FROM blacklist_emails WHERE dealer_id = 'bench' AND removed_on IS NULL ORDER BY added_on, value) TO '$work/copy.csv' CSV HEADER"
      copies+=($(( $(now_ms) - started )))
    done
    copy_ms=$(median "${copies[@]}")
    record "$backend $rows" "psql \\copy of the same rows (median of 3)" "$copy_ms ms (${copies[*]})"
    ratio "$backend $rows" "export ÷ psql \\copy" "$ms" "$copy_ms"
    record "$backend $rows" "export and psql \\copy byte-identical" "$(cmp -s "$work/export.csv" "$work/copy.csv" && echo yes || echo NO)"
  fi
  # The SDK's download of both lists (what an operator's sync does) beside curl of the same.
  local operator_token=$("$binary" token --role operator --dealer bench --sub bench --ttl 2h)
  started=$(now_ms)
  for list in emails mobiles; do
    curl -s -o "$work/curl-$list.csv" -H "Authorization: Bearer $operator_token" -H 'Accept: text/csv' "$base/v1/dealers/bench/blacklist/$list"
  done
  local curl_ms=$(( $(now_ms) - started ))
  started=$(now_ms)
  "$sdk_pull" --url "$base" --dealer bench --token "$operator_token" --out "$work/sdk" >/dev/null 2>&1
  local sdk_ms=$(( $(now_ms) - started ))
  record "$backend $rows" "both blacklists: curl / SDK (pull_blacklist)" "$curl_ms ms / $sdk_ms ms"
  ratio "$backend $rows" "SDK ÷ curl" "$sdk_ms" "$curl_ms"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ratio() { # label what numerator denominator
  record "$1" "$2" "$(awk -v a="$3" -v b="$4" 'BEGIN { if (b > 0) printf "%.2f ×", a / b; else print "n/a" }')"
}

for backend in $BACKENDS; do
  echo "==> $backend"
  if [ "$backend" = postgres ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS popia_bench WITH (FORCE)" -c "CREATE DATABASE popia_bench"
    url="$PG/popia_bench"
  else
    command -v sqlite3 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3; }
    url="sqlite://$work/bench.db"
  fi
  start_server "$url"
  record "$backend 0" "start to /readyz, empty database" "$ready_ms ms"
  admin=$("$binary" token --role admin --sub bench)
  curl -fs -o /dev/null -X POST "$base/v1/dealers" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"id":"bench","name":"Bench Motors","website":"https://bench.co.za","key_contacts":[{"name":"Thandi","email":"thandi@bench.co.za"}]}'
  stop_server
  seed "$backend" "$url" 1 "$SMALL"
  start_server "$url"
  measure "$backend" "$url" "$SMALL"
  stop_server
  seed "$backend" "$url" $(( SMALL + 1 )) "$ROWS"
  start_server "$url"
  record "$backend $ROWS" "start to /readyz" "$ready_ms ms"
  measure "$backend" "$url" "$ROWS"
  token=$("$binary" token --role dealer --dealer bench --sub bench --ttl 2h)
  BENCH_ROWS=$ROWS BENCH_TOKEN=$token BENCH_FIRST_ID=1 wrk -t2 -c16 -d"${SECONDS_PER_LOAD}s" --latency -s bench/withdraw.lua "$base" >"$work/withdraw.txt"
  read rps p50 p99 < <(wrk_figures "$work/withdraw.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$work/withdraw.txt")
  # Their emails count too: a rate the delivery worker cannot keep up with only grows a queue.
  queued=$(pending_emails "$url")
  drain=$(drain_seconds "$url")
  withdrawn=$(awk '/requests in/ {print $1}' "$work/withdraw.txt")
  sustained=$(awk -v n="$withdrawn" -v t="$SECONDS_PER_LOAD" -v d="$drain" 'BEGIN { printf "%.0f", n / (t + d) }')
  record "$backend $ROWS" "withdrawal (2 leads each), 16 connections" "$rps withdrawals/s, p50 $p50, p99 $p99${errors:+, non-2xx $errors}"
  record "$backend $ROWS" "withdrawal with its 2 emails delivered" "$sustained withdrawals/s ($queued emails still queued at the end of the load, delivered in $drain s)"
  stop_server
  if [ "$backend" = postgres ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS popia_pgbench WITH (FORCE)" -c "CREATE DATABASE popia_pgbench"
    pgbench -q -i -s 10 "$PG/popia_pgbench" >/dev/null 2>&1
    tps=$(pgbench -S -c 64 -j 2 -T "$SECONDS_PER_LOAD" "$PG/popia_pgbench" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    record "postgres" "pgbench -S, 64 connections (same server)" "$tps tps"
    ratio "postgres $ROWS" "lookup ÷ pgbench -S" "$lookup_rps" "$tps"
  fi
done

echo
echo "==> results ($(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, profile $PROFILE)"
column -t -s $'\t' "$results"
