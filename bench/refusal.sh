#!/bin/sh
# Scenario refusal: see BENCHMARKS.md.
exec "$(dirname "$0")/run.py" refusal "$@"
