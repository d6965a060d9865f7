#!/usr/bin/env bash
# Starts the sandbox services, the action server and the Rasa server; Ctrl-C stops all.
# Called by `make run`, which has built the venv, the spaCy pipeline and the model.
# `scripts/run_stack.sh desk` (`make desk`) starts only the agent desk, for a running stack.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mkdir -p var/log

SANDBOX_PORT=${SANDBOX_PORT:-5080}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
RASA_PORT=${RASA_PORT:-5005}
WEBCHAT_PORT=${WEBCHAT_PORT:-8080}
DESK_PORT=${DESK_PORT:-5070}

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

# Rasa's HTTP API is always token-protected; the agent desk uses the same token. Without
# RASA_AUTH_TOKEN a random one is made and kept (owner-only) in var/rasa_auth_token,
# where `make desk` finds it while this stack runs.
TOKEN_FILE=var/rasa_auth_token
if [ "${1:-}" = desk ] && [ -z "${RASA_AUTH_TOKEN:-}" ]; then
  if [ ! -s "$TOKEN_FILE" ]; then
    echo "Set RASA_AUTH_TOKEN to your Rasa server's token, or start the stack with make run" >&2
    exit 1
  fi
  RASA_AUTH_TOKEN=$(cat "$TOKEN_FILE")
fi
if [ -z "${RASA_AUTH_TOKEN:-}" ]; then
  RASA_AUTH_TOKEN=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(32))')
  (umask 077 && printf '%s\n' "$RASA_AUTH_TOKEN" >"$TOKEN_FILE")
fi
# The Rasa server sends the action server a shared secret (endpoints.yml); without
# FRONTLINE_ACTION_SECRET(_FILE) this stack makes one of its own, in the environment only.
if [ -z "${FRONTLINE_ACTION_SECRET:-}" ] && [ -z "${FRONTLINE_ACTION_SECRET_FILE:-}" ]; then
  FRONTLINE_ACTION_SECRET=$($BIN/python -c 'import secrets; print(secrets.token_hex(32))')
fi
export FRONTLINE_ACTION_SECRET
# The token goes only to the Rasa server and the desk, in their environment: never on a
# command line, which every local user can read.
export RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}

start_desk() {  # the agent desk (desk/): people answer handed-off conversations
  RASA_AUTH_TOKEN="$RASA_AUTH_TOKEN" \
    $BIN/python -m desk --host 127.0.0.1 --port "$DESK_PORT" >var/log/desk.log 2>&1 &
  pids+=($!)
  wait_for desk "http://127.0.0.1:$DESK_PORT/health" $!
}

DESK_HELP="  Desk:      http://127.0.0.1:$DESK_PORT  (human agents; create the first one with
               .venv/bin/python -m desk.agents add --name ana --role supervisor)"

if [ "${1:-}" = desk ]; then
  start_desk
  printf '\n%s\n  Rasa:      %s\nPress Ctrl-C to stop.\n' "$DESK_HELP" "$RASA_URL"
  wait
  exit 0
fi

# The local stack is a demo: `make demo-traffic` dates some of its simulated contacts days
# back (frontline/outcomes/simulated_clock.py; only conversation ids starting SIM<N>D).
export FRONTLINE_SIMULATED_CLOCK=${FRONTLINE_SIMULATED_CLOCK:-1}
# Without a real Slack app, Slack is the demo's: `make demo-traffic` fakes Slack's Web API
# on DEMO_SLACK_PORT and signs its events with a local, owner-only secret.
if [ -z "${SLACK_BOT_TOKEN:-}" ]; then
  DEMO_SLACK_SECRET=var/demo_slack_signing_secret
  if [ ! -s "$DEMO_SLACK_SECRET" ]; then
    (umask 077 && $BIN/python -c 'import secrets; print(secrets.token_hex(24))' >"$DEMO_SLACK_SECRET")
  fi
  export SLACK_BOT_TOKEN=xoxb-frontline-demo
  SLACK_SIGNING_SECRET=$(cat "$DEMO_SLACK_SECRET")
  export SLACK_SIGNING_SECRET
  export SLACK_API_URL=${SLACK_API_URL:-http://127.0.0.1:${DEMO_SLACK_PORT:-5091}/api/}
  export SLACK_CHANNEL=${SLACK_CHANNEL:-}
fi

$BIN/python -m sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" >var/log/sandbox.log 2>&1 &
pids+=($!)
wait_for sandbox "http://127.0.0.1:$SANDBOX_PORT/health" $!

# The action server checks the policies first and refuses to start with a broken one.
$BIN/python -m frontline.action_server --actions actions --port "$ACTIONS_PORT" \
  >var/log/actions.log 2>&1 &
pids+=($!)
wait_for actions "http://127.0.0.1:$ACTIONS_PORT/health" $!

# Rasa on Frontline's runtime: the launcher checks the upstream versions its run-time
# patches were written for, applies them and verifies each took effect (refusing to
# start otherwise); FRONTLINE_STOCK_RASA=1 runs stock Rasa. It reads the API token from
# RASA_AUTH_TOKEN (or an owner-only RASA_AUTH_TOKEN_FILE).
RASA_AUTH_TOKEN="$RASA_AUTH_TOKEN" $BIN/python -m frontline.runtime run \
  --model models/frontline.tar.gz --port "$RASA_PORT" --enable-api --cors "*" \
  >var/log/rasa.log 2>&1 &
pids+=($!)
wait_for rasa "http://127.0.0.1:$RASA_PORT/" $!

# The web chat page; its widget talks to the Rasa server's socket.io channel.
WEBCHAT_SOCKET_URL=${WEBCHAT_SOCKET_URL:-http://127.0.0.1:$RASA_PORT} \
  $BIN/python -m webchat --host 127.0.0.1 --port "$WEBCHAT_PORT" >var/log/webchat.log 2>&1 &
pids+=($!)
wait_for webchat "http://127.0.0.1:$WEBCHAT_PORT/health" $!

start_desk

cat <<MSG

Frontline is running (logs in var/log/):
  Web chat:  http://127.0.0.1:$WEBCHAT_PORT  (the demo page; the chat is at the bottom right)
  REST:      curl -s localhost:$RASA_PORT/webhooks/rest/webhook \\
               -d '{"sender": "me", "message": "hi"}'
  Shell:     .venv/bin/python -m frontline.runtime shell --port 5006 -m models/frontline.tar.gz
  Sandbox:   http://127.0.0.1:$SANDBOX_PORT  (demo customers: sandbox/README.md)
$DESK_HELP
Press Ctrl-C to stop.
MSG
wait
