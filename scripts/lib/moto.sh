# shellcheck shell=bash
# start_moto VENV: starts moto on a free 127.0.0.1 port, waits until it answers, exports
# AWS_ENDPOINT_URL, test credentials and TAXISTREAM_TEST_PYTHON (the venv's interpreter), and stops
# it when the calling shell exits.
start_moto() {
  local venv="$1" port_file log
  port_file=$(mktemp -u /tmp/taxistream-moto-port.XXXXXX)
  log=$(mktemp /tmp/taxistream-moto-log.XXXXXX)
  "$venv/bin/python" scripts/moto_server.py --port-file "$port_file" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_PORT_FILE=$port_file
  trap 'kill "$MOTO_PID" 2>/dev/null; wait "$MOTO_PID" 2>/dev/null; rm -f "$MOTO_PORT_FILE"' EXIT
  for _ in $(seq 1 100); do
    if [ -s "$port_file" ]; then break; fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto did not start:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.1
  done
  if [ ! -s "$port_file" ]; then echo "moto did not start within 10 s:" >&2; cat "$log" >&2; return 1; fi
  export AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$port_file")"
  # Test credentials only: the tests must never reach real AWS.
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  # The venv's interpreter, for tests that call its tools (aws-kinesis-agg through scripts/kpl/).
  TAXISTREAM_TEST_PYTHON="$(cd "$venv" && pwd)/bin/python"
  export TAXISTREAM_TEST_PYTHON
  unset AWS_PROFILE AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_KINESIS AWS_ENDPOINT_URL_DYNAMODB
  "$venv/bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" \
    "$AWS_ENDPOINT_URL/moto-api/" || { echo "moto does not answer at $AWS_ENDPOINT_URL" >&2; return 1; }
  echo "moto (AWS emulator) at $AWS_ENDPOINT_URL, log $log" >&2
}
