#!/bin/sh
# Scenario nodes: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" nodes "$@"
