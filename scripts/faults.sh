#!/usr/bin/env bash
# Fault tests with real processes on a real PostgreSQL (run by .ci/run after the test suites):
#  1. kill -9 of the server during 200 concurrent withdrawals: afterwards every customer is
#     either withdrawn in full (record, leads, blacklists, events, outbox) or untouched;
#  2. PostgreSQL stopped under load: /readyz answers 503 while it is down, the service recovers
#     without a restart, and no request is half-applied.
set -euo pipefail
cd "$(dirname "$0")/.."

PG="${POPIA_FAULTS_PG:-postgres://postgres@127.0.0.1:5432}"
COUNT="${POPIA_FAULT_WITHDRAWALS:-200}"
DB="popia_faults_$$"
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export POPIA_DATA_DIR="$data" POPIA_JWT_SECRET="faults-secret-faults-secret-faults-0123456789"
cluster="$(ls /etc/postgresql | head -n 1)"

cargo build --quiet -p popia-api
binary=target/debug/popia-api
sql() { psql "$PG/$DB" -qtAX -c "$1"; }

server=""
start_server() {
  "$binary" serve --bind "127.0.0.1:$port" --database-url "$PG/$DB" >>"$data/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "the server did not become ready"; cat "$data/server.log"; exit 1
}
cleanup() {
  [ -n "$server" ] && { kill -9 "$server" 2>/dev/null; wait "$server" 2>/dev/null; } || true
  pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -q && break; sleep 0.2; done
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$data"
}
trap cleanup EXIT

psql "$PG/postgres" -qc "CREATE DATABASE $DB"
start_server
admin=$("$binary" token --role admin --sub faults)
dealer=$("$binary" token --role dealer --dealer abc-motors --sub faults)
post() { curl -s -o /dev/null -w '%{http_code}' -X POST "$base$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }

post /v1/dealers "$admin" '{"id":"abc-motors","name":"ABC","website":"https://abc.co.za","key_contacts":[{"name":"Thandi","email":"thandi@abc.co.za"}]}' >/dev/null
for i in $(seq 1 "$COUNT"); do
  body=$(printf '{"first_name":"Kill","last_name":"Nine%d","email":"kill%d@mail.co.za","mobile":"+2782%07d","consent_process":true,"consent_market":true}' "$i" "$i" "$i")
  id=$(curl -s -X POST "$base/v1/dealers/abc-motors/customers" -H "Authorization: Bearer $dealer" -H 'Content-Type: application/json' -d "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  post /v1/dealers/abc-motors/leads "$dealer" "{\"customer_id\":$id,\"recipient\":{\"name\":\"Ashveer\",\"email\":\"ashveer@abc.co.za\"},\"message\":\"call Kill Nine$i\"}" >/dev/null
  echo "$id"
done >"$data/ids"

echo "==> kill -9 during $COUNT concurrent withdrawals"
(xargs -P 50 -I ID curl -s -o /dev/null -w '%{http_code}\n' -X POST "$base/v1/dealers/abc-motors/customers/ID/withdraw-consent" \
   -H "Authorization: Bearer $dealer" -H 'Content-Type: application/json' -d '{}' <"$data/ids" >"$data/statuses" || true) &
load=$!
# Kill it in the middle: once a quarter of the withdrawals have committed.
for _ in $(seq 1 200); do
  [ "$(sql "SELECT count(*) FROM customers WHERE deidentified_at IS NOT NULL")" -ge $((COUNT / 4)) ] && break
  sleep 0.01
done
kill -9 "$server"
wait "$server" 2>/dev/null || true
wait "$load" || true
answered=$(grep -c '^200$' "$data/statuses" || true)
start_server

withdrawn=$(sql "SELECT count(*) FROM customers WHERE deidentified_at IS NOT NULL")
untouched=$(sql "SELECT count(*) FROM customers WHERE deidentified_at IS NULL AND first_name IS NOT NULL")
half_withdrawn=$(sql "SELECT count(*) FROM customers c WHERE c.deidentified_at IS NOT NULL AND (
    c.first_name IS NOT NULL OR c.email IS NOT NULL OR c.mobile IS NOT NULL
 OR EXISTS (SELECT 1 FROM leads l WHERE l.customer_id = c.id AND (l.status <> 'lost' OR l.message IS NOT NULL))
 OR NOT EXISTS (SELECT 1 FROM change_events e WHERE e.customer_id = c.id AND e.kind = 'consent.withdrawn')
 OR NOT EXISTS (SELECT 1 FROM change_events e WHERE e.customer_id = c.id AND e.kind = 'customer.deidentified')
 OR NOT EXISTS (SELECT 1 FROM outbox_messages o WHERE o.customer_id = c.id AND o.kind = 'consent_withdrawn')
 OR NOT EXISTS (SELECT 1 FROM outbox_messages o WHERE o.customer_id = c.id AND o.kind = 'deidentify_alert'))")
half_untouched=$(sql "SELECT count(*) FROM customers c WHERE c.deidentified_at IS NULL AND (
    c.first_name IS NULL
 OR EXISTS (SELECT 1 FROM blacklist_emails b WHERE b.value = c.email)
 OR EXISTS (SELECT 1 FROM blacklist_mobiles b WHERE b.value = c.mobile)
 OR EXISTS (SELECT 1 FROM leads l WHERE l.customer_id = c.id AND l.status <> 'active')
 OR EXISTS (SELECT 1 FROM change_events e WHERE e.customer_id = c.id AND e.kind <> 'customer.created' AND e.kind <> 'lead.created'))")
emails=$(sql "SELECT count(*) FROM blacklist_emails")
mobiles=$(sql "SELECT count(*) FROM blacklist_mobiles")
echo "kill -9 during $COUNT withdrawals: $answered answered before the kill; afterwards $withdrawn withdrawn in full, $untouched untouched, $((half_withdrawn + half_untouched)) half-applied; blacklists $emails emails, $mobiles mobiles"
[ "$half_withdrawn" = 0 ] && [ "$half_untouched" = 0 ] && [ $((withdrawn + untouched)) = "$COUNT" ] \
  && [ "$emails" = "$withdrawn" ] && [ "$mobiles" = "$withdrawn" ] && [ "$withdrawn" -ge "$answered" ] \
  || { echo "FAILED: a withdrawal was half-applied"; exit 1; }

echo "==> PostgreSQL stopped under load"
before=$(sql "SELECT count(*) FROM customers")
(for i in $(seq 1 400); do
   code=$(post /v1/dealers/abc-motors/customers "$dealer" "{\"first_name\":\"Load\",\"last_name\":\"Test$i\",\"email\":\"load$i@mail.co.za\",\"consent_process\":true,\"consent_market\":false}")
   echo "$code"
   sleep 0.02
 done >"$data/load") &
load=$!
sleep 1
pg_ctlcluster --skip-systemctl-redirect "$cluster" main stop -m fast
down_ready=$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")
sleep 2
down_ready_later=$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")
pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
recovered=""
for i in $(seq 1 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; then recovered="$i"; break; fi
  sleep 0.1
done
wait "$load" || true
created=$(grep -c '^201$' "$data/load" || true)
refused=$(grep -vc '^201$' "$data/load" || true)
after=$(sql "SELECT count(*) FROM customers")
events=$(sql "SELECT count(*) FROM change_events WHERE kind = 'customer.created' AND customer_id IN (SELECT id FROM customers WHERE last_name LIKE 'Test%')")
rows=$((after - before))
echo "PostgreSQL stopped under load: /readyz $down_ready then $down_ready_later while down; ready again ${recovered:-never}00 ms after the restart, without restarting the service; 400 creates: $created answered 201, $refused refused ($(sort "$data/load" | uniq -c | tr '\n' ' ')); $rows rows and $events creation events stored"
[ "$down_ready_later" = 503 ] && [ -n "$recovered" ] && [ "$rows" = "$created" ] && [ "$events" = "$created" ] \
  || { echo "FAILED"; exit 1; }
echo "faults: 0 failures"
