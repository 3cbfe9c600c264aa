#!/bin/sh
# Scenario fanout: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" fanout "$@"
