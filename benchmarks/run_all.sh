#!/usr/bin/env bash
# Every benchmark in one command: search quality, speed, parallel quality, duplicates,
# the API's latency, multi-process throughput and the launcher's overhead.
#   bash benchmarks/run_all.sh            # about 12 minutes on 2 cores
#   bash benchmarks/run_all.sh --quick    # under 3 minutes (fewer problems and seeds)
# Needs the bench extra: pip install -e '.[bench]'. Results: benchmarks/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
if [ "${1:-}" = "--quick" ]; then
    python benchmarks/quality/run.py --quick --out "$out/quality-quick.json"
    python benchmarks/quality/speed.py --trials 500 --dimensions 5 --out "$out/speed-quick.json"
    python benchmarks/quality/parallel.py --seeds 3 --problems branin hartmann6 \
        --out "$out/parallel-quick.json"
    python benchmarks/quality/duplicates.py --seeds 2 --out "$out/duplicates-quick.json"
    python benchmarks/throughput.py --experiments 1000 --out "$out/throughput-quick.json"
else
    python benchmarks/quality/run.py --out "$out/quality.json"
    python benchmarks/quality/speed.py --out "$out/speed.json"
    python benchmarks/quality/parallel.py --out "$out/parallel.json"
    python benchmarks/quality/duplicates.py --out "$out/duplicates.json"
    python benchmarks/api_latency.py --out "$out/api_latency.json"
    python benchmarks/throughput.py --out "$out/throughput.json"
    python benchmarks/launcher_overhead.py
fi
