#!/usr/bin/env bash
# Where a load's CPU goes, for quick A/B runs of one measure (PostgreSQL): the withdrawal load
# (16 connections) or the lookup load (64), against ROWS customers with two leads each, with
# the service's emails delivered to the loopback sink, and the CPU of the service, of
# PostgreSQL's processes (those alive at the end), of the sink and of the whole machine over the load, in seconds and
# per request, counted until the load's emails are delivered. With PERF=1 it also records a system-wide profile to target/cpu_split.perf
# (`perf report -i target/cpu_split.perf --no-children --sort comm,dso,sym`).
#
#   bench/cpu_split.sh withdraw 20000 8
#   bench/cpu_split.sh lookup 20000 8
#
# Uses the release binary that `cargo build --release -p popia-api` leaves in target/release.
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD="${1:-withdraw}"
ROWS="${2:-20000}"
SECONDS_PER_LOAD="${3:-8}"
PG="${BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
export POPIA_JWT_SECRET="bench-secret-bench-secret-bench-secret-0123456789"
# No TLS to PostgreSQL on loopback (libpq would negotiate it by default): it would measure
# OpenSSL, about 8 % of the machine in the withdrawal load, which a service on the database's
# host does not pay (and one across hosts pays whatever its network adds). The same setting
# reaches psql and pgbench, so ratios compare like with like.
export PGSSLMODE="${PGSSLMODE:-disable}"
binary=target/release/popia-api
[ -x "$binary" ] || cargo build --quiet --release -p popia-api
command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

work=$(mktemp -d)
url="$PG/popia_cpu_split"
server=""
sink=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ -n "$sink" ] && kill "$sink" 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS popia_cpu_split WITH (FORCE)" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS popia_cpu_split WITH (FORCE)" -c "CREATE DATABASE popia_cpu_split"

python3 bench/smtp_sink.py >"$work/sink.port" 2>/dev/null &
sink=$!
until [ -s "$work/sink.port" ]; do sleep 0.01; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
POPIA_DATA_DIR="$work/data" POPIA_OUTBOX_BACKOFF=1h RUST_LOG=warn "$binary" serve --bind "127.0.0.1:$port" \
  --database-url "$url" --smtp-url "smtp://127.0.0.1:$(cat "$work/sink.port")?tls=none" >"$work/server.log" 2>&1 &
server=$!
until curl -fs "$base/readyz" >/dev/null 2>&1; do sleep 0.01; done

admin=$("$binary" token --role admin --sub bench)
curl -fs -o /dev/null -X POST "$base/v1/dealers" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d '{"id":"bench","name":"Bench Motors","website":"https://bench.co.za","key_contacts":[{"name":"Thandi","email":"thandi@bench.co.za"}]}'
psql "$url" -q -v ON_ERROR_STOP=1 -c "
  INSERT INTO customers (id, dealer_id, first_name, last_name, email, mobile, consent_process, consent_market, consent_source, created_at, updated_at)
    SELECT n, 'bench', 'Thabo', 'Nkosi', 'customer' || n || '@mail.co.za', '+2782' || lpad(n::text, 7, '0'), true, true, 'website', now(), now()
    FROM generate_series(1, $ROWS) n;
  INSERT INTO leads (dealer_id, customer_id, status, recipient_name, recipient_email, source, vehicle, message, created_at, updated_at)
    SELECT 'bench', n, 'active', 'Ashveer Singh', 'ashveer@bench.co.za', 'website', 'VW Polo', 'Please call me', now(), now()
    FROM generate_series(1, $ROWS) n, generate_series(1, 2);
  SELECT setval('customers_id_seq', $ROWS); SELECT setval('leads_id_seq', (SELECT max(id) FROM leads));" >/dev/null
psql "$url" -qc "VACUUM ANALYZE"
token=$("$binary" token --role dealer --dealer bench --sub bench --ttl 2h)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
postgres_ticks() { local total=0; for pid in $(pgrep -u postgres postgres); do total=$((total + $(ticks "$pid"))); done; echo "$total"; }
machine() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5}' /proc/stat; }
service0=$(ticks "$server"); postgres0=$(postgres_ticks); sink0=$(ticks "$sink"); read -r busy0 idle0 < <(machine)
profiler=""
if [ -n "${PERF:-}" ]; then
  perf record -a -g -F 499 -o target/cpu_split.perf -- sleep $((SECONDS_PER_LOAD - 1)) >/dev/null 2>&1 &
  profiler=$!
fi
case "$LOAD" in
  lookup) BENCH_ROWS=$ROWS BENCH_TOKEN=$token wrk -t2 -c64 -d"${SECONDS_PER_LOAD}s" --latency -s bench/lookup.lua "$base" >"$work/wrk.txt" ;;
  withdraw) BENCH_ROWS=$ROWS BENCH_TOKEN=$token BENCH_FIRST_ID=1 wrk -t2 -c16 -d"${SECONDS_PER_LOAD}s" --latency -s bench/withdraw.lua "$base" >"$work/wrk.txt" ;;
  *) echo "usage: bench/cpu_split.sh withdraw|lookup [ROWS] [SECONDS]" >&2; exit 2 ;;
esac
# The load's emails are part of its cost: the CPU is read once the outbox is empty.
pending() { psql "$url" -Atc "SELECT count(*) FROM outbox_messages WHERE status = 'pending'"; }
queued=$(pending); drain_start=$(date +%s.%N)
for _ in $(seq 3000); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
drain=$(awk -v s="$drain_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
service1=$(ticks "$server"); postgres1=$(postgres_ticks); sink1=$(ticks "$sink"); read -r busy1 idle1 < <(machine)
echo "emails queued at the end of the load: $queued, delivered in $drain s"
[ -z "$profiler" ] || wait "$profiler" || true

hz=$(getconf CLK_TCK)
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
awk '/Requests\/sec/ {print "requests/s", $2} /^ +50%/ {print "p50", $2} /^ +99%/ {print "p99", $2} /Non-2xx/ {print "non-2xx", $5}' "$work/wrk.txt"
awk -v n="$requests" -v t="$SECONDS_PER_LOAD" -v d="$drain" 'BEGIN { printf "requests/s with the emails delivered %.0f\n", n / (t + d) }'
share() { # label ticks
  awk -v label="$1" -v t="$2" -v hz="$hz" -v n="$requests" \
    'BEGIN { printf "%-14s %6.2f s CPU, %6.3f ms per request\n", label, t / hz, (n > 0 ? 1000 * t / hz / n : 0) }'
}
share "service" $((service1 - service0))
share "postgres" $((postgres1 - postgres0))
share "SMTP sink" $((sink1 - sink0))
share "machine, busy" $((busy1 - busy0))
share "machine, idle" $((idle1 - idle0))
