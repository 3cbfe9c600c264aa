#!/bin/sh
# Scenario idle: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" idle "$@"
