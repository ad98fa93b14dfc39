#!/usr/bin/env bash
# Schemathesis (property-based API testing from the OpenAPI document) against a real server,
# once for each role's token, with every default check. Bounded so that it fits in CI:
# MAX_EXAMPLES (default 15) examples per operation. First, openapi.yaml read by a YAML 1.1
# reader must be the served document. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES="${MAX_EXAMPLES:-15}"
if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
fi
cargo build --quiet --workspace --bins
binary=target/debug/popia-api

data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export POPIA_DATA_DIR="$data" POPIA_JWT_SECRET="schemathesis-secret-schemathesis-secret-0123"
"$binary" serve --demo --bind "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done

failed=0
echo "==> openapi.yaml as a YAML 1.1 reader (PyYAML, like openapi-generator's SnakeYAML) sees it"
python3 scripts/yaml11_check.py openapi.yaml "http://127.0.0.1:$port/openapi.json" || failed=1
for role in admin dealer operator subject; do
  case "$role" in
    subject) token=$("$binary" token --role subject --dealer demo-motors --email fred@sea.example --sub schemathesis --ttl 2h) ;;
    admin) token=$("$binary" token --role admin --sub schemathesis --ttl 2h) ;;
    *) token=$("$binary" token --role "$role" --dealer demo-motors --sub schemathesis --ttl 2h) ;;
  esac
  echo "==> schemathesis as $role"
  if ! schemathesis run openapi.yaml \
      --url "http://127.0.0.1:$port" \
      --header "Authorization: Bearer $token" \
      --checks all \
      --max-examples "$MAX_EXAMPLES" \
      --seed 20261129 \
      --workers 2 \
      --phases examples,fuzzing,stateful \
      --request-timeout 20; then
    failed=1
  fi
done
exit $failed
