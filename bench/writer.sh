#!/bin/sh
# Scenario writer: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" writer "$@"
