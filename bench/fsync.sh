#!/bin/sh
# Scenario fsync: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" fsync "$@"
