#!/bin/sh
# Scenario cold: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" cold "$@"
