#!/usr/bin/env bash
# Starts the sandbox services, the action server and the Rasa server; Ctrl-C stops all.
# Called by `make run`, which has built the venv, the spaCy pipeline and the model.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p var/log

SANDBOX_PORT=${SANDBOX_PORT:-5080}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}

pids=()
stop_all() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop_all EXIT INT TERM

wait_for() {  # wait_for NAME URL PID: poll a health URL until it answers (2 minutes at most)
  local name=$1 url=$2 pid=$3
  for _ in $(seq 240); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited; see var/log/$name.log" >&2
      exit 1
    fi
    curl -fs "$url" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "$name did not start; see var/log/$name.log" >&2
  exit 1
}

$BIN/python -m sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" >var/log/sandbox.log 2>&1 &
pids+=($!)
wait_for sandbox "http://127.0.0.1:$SANDBOX_PORT/health" $!

$BIN/rasa run actions --actions actions --port "$ACTIONS_PORT" >var/log/actions.log 2>&1 &
pids+=($!)
wait_for actions "http://127.0.0.1:$ACTIONS_PORT/health" $!

$BIN/rasa run --model models/frontline.tar.gz --port "$RASA_PORT" --enable-api \
  ${RASA_AUTH_TOKEN:+--auth-token "$RASA_AUTH_TOKEN"} --cors "*" >var/log/rasa.log 2>&1 &
pids+=($!)
wait_for rasa "http://127.0.0.1:$RASA_PORT/" $!

cat <<MSG

Frontline is running (logs in var/log/):
  REST:      curl -s localhost:$RASA_PORT/webhooks/rest/webhook \\
               -d '{"sender": "me", "message": "hi"}'
  Shell:     .venv/bin/rasa shell --port 5006 -m models/frontline.tar.gz  (another terminal)
  Sandbox:   http://127.0.0.1:$SANDBOX_PORT  (demo customers: sandbox/README.md)
Press Ctrl-C to stop.
MSG
wait
