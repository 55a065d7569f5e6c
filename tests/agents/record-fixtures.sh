#!/usr/bin/env bash
# Records what the real A2A servers in this directory answer to the walkthrough's prompt, as
# the fixtures the client's event-folding unit tests replay (tests/fixtures/a2a/<server>/):
# card.json, stream.sse (message/stream or SendStreamingMessage, the body as sent) and
# send.json (message/send or SendMessage). Needs the venvs .ci/run makes:
#   CONTROL_ROOM_A2A03_PYTHON=… CONTROL_ROOM_A2A1_PYTHON=… CONTROL_ROOM_KAGENT_PYTHON=… \
#     tests/agents/record-fixtures.sh
# Ids and timestamps differ per run; nothing else should.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../fixtures/a2a"
prompt='I am customer 12345. Please check my balance, list my recent transactions, and convert my balance to USD.'
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start PYTHON SCRIPT ARGS… → sets $url once the agent card answers.
start() {
  local log
  log="$(mktemp)"
  "$1" "$here/$2" "${@:3}" >"$log" 2>&1 &
  pids+=("$!")
  url=""
  for _ in $(seq 1 600); do
    url="$(sed -n 's/^listening on //p' "$log" | head -n 1)"
    if [[ -n "$url" ]] && curl -fsS "${url}.well-known/agent-card.json" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  cat "$log" >&2
  exit 1
}

# record DIR VERSION_HEADER STREAM_METHOD SEND_METHOD MESSAGE_JSON
record() {
  local dir="$out/$1" header=("${@:2:1}") message="$5"
  mkdir -p "$dir"
  curl -fsS "${url}.well-known/agent-card.json" | python3 -m json.tool >"$dir/card.json"
  curl -fsSN -X POST "${url}" -H 'Content-Type: application/json' -H 'Accept: text/event-stream' ${header:+-H "$header"} \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$3\",\"params\":{\"message\":$message}}" >"$dir/stream.sse"
  curl -fsS -X POST "${url}" -H 'Content-Type: application/json' ${header:+-H "$header"} \
    -d "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"$4\",\"params\":{\"message\":$message}}" | python3 -m json.tool --no-ensure-ascii >"$dir/send.json"
}

m03="{\"role\":\"user\",\"kind\":\"message\",\"messageId\":\"m-1\",\"parts\":[{\"kind\":\"text\",\"text\":\"$prompt\"}]}"
m10="{\"role\":\"ROLE_USER\",\"messageId\":\"m-1\",\"parts\":[{\"text\":\"$prompt\"}]}"

start "$CONTROL_ROOM_A2A03_PYTHON" a2a03_agent.py
record a2a-sdk-0.3.26 "" message/stream message/send "$m03"
start "$CONTROL_ROOM_A2A1_PYTHON" a2a1_agent.py
record a2a-sdk-1.3.0 "A2A-Version: 1.0" SendStreamingMessage SendMessage "$m10"
start "$CONTROL_ROOM_KAGENT_PYTHON" kagent_agent.py
record kagent-adk-0.10.4 "" message/stream message/send "$m03"
# A kagent agent with `stream: false`, as the card tells the client: message/send only.
start "$CONTROL_ROOM_KAGENT_PYTHON" kagent_agent.py --no-streaming
mkdir -p "$out/kagent-adk-0.10.4-no-stream"
record kagent-adk-0.10.4-no-stream "" message/stream message/send "$m03"
rm "$out/kagent-adk-0.10.4-no-stream/stream.sse"
ls -l "$out"/*
