# Shared by scripts/test and the bench scripts: the pinned Python tools in .venv-test, and a
# moto server on a free loopback port. Source it; it defines functions only.

PINS=("moto==5.2.5" "flask==3.1.3" "flask-cors==6.0.5" "cfn-lint==1.58.0" "aws-sam-translator==1.115.0"
      "schemathesis==4.32.5" "openapi-spec-validator==0.9.0"
      "openpyxl==3.1.5" "xlwt==1.3.0" "odfpy==1.4.1" "standardwebhooks==1.3.0"
      "jsonpath-ng==1.7.0" "pyotp==2.9.0")
VENV=.venv-test

log() { printf '\033[1m[%s]\033[0m %s\n' "${LOG_TAG:-test}" "$*"; }

# The venv is (re)built whenever the pins change; .pins records what it holds.
ensure_venv() {
  if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "${PINS[*]}" ]; then
    log "installing ${PINS[*]} into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
    printf '%s' "${PINS[*]}" >"$VENV/.pins"
  fi
}

# A tool pinned in a venv of its own (checkov's and SAM CLI's pins of boto3 and friends are not
# moto's): ensure_tool_venv DIR PIN, rebuilt whenever the pin changes.
ensure_tool_venv() {
  if [ "$(cat "$1/.pins" 2>/dev/null)" != "$2" ]; then
    log "installing $2 into $1"
    rm -rf "$1"
    python3 -m venv "$1"
    "$1/bin/pip" install --quiet --disable-pip-version-check "$2"
    printf '%s' "$2" >"$1/.pins"
  fi
}
CHECKOV_VENV=.venv-checkov
ensure_checkov() { ensure_tool_venv "$CHECKOV_VENV" "checkov==3.3.30"; }
SAM_VENV=.venv-sam
ensure_sam() { ensure_tool_venv "$SAM_VENV" "aws-sam-cli==1.170.0"; }

# Starts moto (one request at a time, scripts/moto_serial.py) and waits for it; sets ENDPOINT and
# MOTO_PID, and stops it when the calling script exits. GATEHOUSE_MOTO_PORT picks the port.
start_moto() {
  local port
  port=${GATEHOUSE_MOTO_PORT:-$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  ENDPOINT="http://127.0.0.1:$port"
  if "$VENV/bin/python" -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(0 if s.connect_ex(('127.0.0.1', $port)) == 0 else 1)"; then
    echo "port $port already answers; refusing to start moto there (set GATEHOUSE_MOTO_PORT to a free port)" >&2
    exit 1
  fi
  mkdir -p target
  MOTO_LOG=target/moto.log
  log "starting moto on $ENDPOINT (log: $MOTO_LOG)"
  MOTO_PORT="$port" "$VENV/bin/python" scripts/moto_serial.py 127.0.0.1 "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('$ENDPOINT/moto-api/', timeout=1)" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto exited; its log:" >&2; cat "$MOTO_LOG" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "moto did not answer within 10 s; its log:" >&2; cat "$MOTO_LOG" >&2; exit 1
}

# The AWS SDK's settings for moto.
use_moto() {
  export AWS_ENDPOINT_URL="$ENDPOINT"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
  unset AWS_PROFILE AWS_SESSION_TOKEN
}
