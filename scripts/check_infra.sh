#!/usr/bin/env bash
# Checks the infrastructure as code (template.yaml) with the tools AWS users trust, then deploys it
# into moto. Called by scripts/test.sh with a moto server already running; by hand:
#
#   python3 -m venv /tmp/mv && /tmp/mv/bin/pip install 'moto[server]==5.2.5'
#   /tmp/mv/bin/python scripts/moto_server.py --port-file /tmp/moto-port &
#   AWS_ENDPOINT_URL=http://127.0.0.1:$(cat /tmp/moto-port) AWS_ACCESS_KEY_ID=testing \
#     AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 scripts/check_infra.sh
#
# Steps: translate template.yaml to plain CloudFormation (target/infra/template.json); checkov on
# both (no failed check; suppressions are inline in the template, each with its reason); pytest on
# infra/: cfn-lint on both, parliament on every policy document, assertions on the template, and the
# stack deployed into moto and read back. Tools live in .venv/infra, installed from
# infra/requirements.txt when that file changes. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Never real AWS: the only endpoint accepted is a local one, and credentials must be moto's.
endpoint="${AWS_ENDPOINT_URL:-}"
if [[ ! "$endpoint" =~ ^http://127\.0\.0\.1:[0-9]+/?$ ]]; then
  echo "check_infra.sh: refusing to run: AWS_ENDPOINT_URL='${endpoint}' is not http://127.0.0.1:<port>" >&2
  echo "  (start moto with scripts/moto_server.py and point AWS_ENDPOINT_URL at it; see this script's header)" >&2
  exit 2
fi
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"
unset AWS_PROFILE AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in infra/

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

venv=.venv/infra
source scripts/lib/python_env.sh
python_env "$venv" infra/requirements.txt
python="$venv/bin/python"

step "translating template.yaml"
"$python" infra/package_template.py --translate --output target/infra/template.json

step "checkov (offline: --skip-download)"
"$venv/bin/checkov" --quiet --compact --skip-download --framework cloudformation \
  -f template.yaml -f target/infra/template.json

step "pytest infra/ (cfn-lint, parliament, template assertions, moto deployment)"
"$python" -m pytest infra -q -p no:cacheprovider

step "infrastructure checks passed"
