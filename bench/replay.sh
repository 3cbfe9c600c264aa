#!/bin/sh
# Scenario replay: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" replay "$@"
