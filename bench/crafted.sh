#!/bin/sh
# Scenario crafted: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" crafted "$@"
