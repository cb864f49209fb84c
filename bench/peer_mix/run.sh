#!/usr/bin/env bash
# The Django peer under the mix (issue 30): its POST /submit plus the two reads of
# bench/load's `mix` (a customer's balance, its newest 20 tickets), one in three each, from
# a random customer of 1000. The peer's code as it is; the reads are bench/peer_mix/peer_mix
# (this bench's, see its views.py), served by the peer's gunicorn setup (sync workers).
#
# Usage: VENV=<the peer's venv> bash bench/peer_mix/run.sh
# Knobs (env): PEER (the peer's folder; default ../shared/peers/django-peer beside the repo),
#   WORKERS=2 CONNS="16 64" DURATION=20 WARMUP=5 PORT=18012 OUT=<folder for logs>
# Its own database django_peer_mix (role django_peer, as the peer's run.sh makes it):
# created, migrated and seeded by the peer's own commands, dropped at the end. Prints one
# `RESULT {json}` line per connection count, prefixed `conns=C`, as bench/load.lua does.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PEER=${PEER:-$(cd "$HERE/../../.." && pwd)/shared/peers/django-peer}
VENV=${VENV:?VENV: the peer venv (bench/load --peer makes one under --out)}
WORKERS=${WORKERS:-2}
CONNS=${CONNS:-"16 64"}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
PORT=${PORT:-18012}
OUT=${OUT:-${TMPDIR:-/tmp}/peer-mix}
DB=django_peer_mix
ROLE=django_peer
mkdir -p "$OUT"
export PEER_DB=$DB PEER_DB_USER=$ROLE PEER_DB_PASSWORD=django_peer PEER_DB_HOST=127.0.0.1 PEER_DB_PORT=5432
export PGPASSWORD=django_peer
export PYTHONPATH="$HERE:$PEER" DJANGO_SETTINGS_MODULE=peer_mix.settings LOAD_MODE=peer_mix
PIDFILE=""
GUNICORN_PID=""

pgsu() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "psql -X -q -v ON_ERROR_STOP=1 $(printf '%q ' "$@")"
  else psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; fi
}
finish() {
  if [ -n "$GUNICORN_PID" ] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"; wait "$GUNICORN_PID" 2>/dev/null || true
  fi
  pgsu -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
}
trap finish EXIT

pgsu -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$ROLE') THEN CREATE ROLE $ROLE LOGIN PASSWORD 'django_peer'; END IF; END \$\$"
pgsu -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB OWNER $ROLE"
cd "$PEER"
"$VENV/bin/python" manage.py migrate -v0
"$VENV/bin/python" manage.py seed --customers 1000 --credits 1000000 >"$OUT/seed.log"
psql -X -q -h 127.0.0.1 -U "$ROLE" -d "$DB" -c "VACUUM (ANALYZE)"

"$VENV/bin/gunicorn" peer.wsgi:application --workers "$WORKERS" --worker-class sync \
  --bind "127.0.0.1:$PORT" --backlog 2048 --log-level warning >>"$OUT/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/tickets?customer_id=1" || true)
  [ "$code" = 200 ] && break
  sleep 0.2
done
[ "$code" = 200 ] || { echo "the peer did not come up (see $OUT/gunicorn.log)" >&2; exit 1; }
curl -sf "http://127.0.0.1:$PORT/customers/1/balance" >/dev/null

wrk -t2 -c16 -d"${WARMUP}s" -s "$HERE/../load.lua" "http://127.0.0.1:$PORT" >"$OUT/warmup.txt"
for C in $CONNS; do
  wrk -t2 -c"$C" -d"${DURATION}s" --timeout 10s -s "$HERE/../load.lua" "http://127.0.0.1:$PORT" \
    >"$OUT/wrk-c$C.txt"
  echo "conns=$C $(grep '^RESULT' "$OUT/wrk-c$C.txt")"
done
