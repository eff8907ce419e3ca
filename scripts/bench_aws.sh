#!/usr/bin/env bash
# The AWS roles against moto, in one sitting: taxistream's producer and consumer handlers
# (cargo bench -p taxistream-e2e --bench aws_roles, release build) and the original tutorial's
# per-row approach in Python (scripts/bench/tutorial_lambda_baseline.py), on the same file.
# usage: scripts/bench_aws.sh [FILE.csv]   (default: testdata/yellow_tripdata_sample_2019-07.csv)
# The baseline reuses ../shared/bench/seed_baseline.py. Figures go to BENCHMARKS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-testdata/yellow_tripdata_sample_2019-07.csv}"
source scripts/lib/python_env.sh
source scripts/lib/moto.sh
python_env .venv/aws scripts/requirements-aws.txt
start_moto .venv/aws
echo "== taxistream handlers"
cargo bench --locked -p taxistream-e2e --bench aws_roles -- "$file"
echo "== the tutorial's approach (boto3)"
.venv/aws/bin/python scripts/bench/tutorial_lambda_baseline.py "$file"
