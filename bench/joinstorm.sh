#!/bin/sh
# Scenario joinstorm: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" joinstorm "$@"
