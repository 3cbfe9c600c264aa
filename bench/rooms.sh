#!/bin/sh
# Scenario rooms: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" rooms "$@"
