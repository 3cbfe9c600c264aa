#!/bin/sh
# Soak: MINUTES (default 30) of mixed load with misbehaving clients, default limits; not in CI. See BENCHMARKS.md.
exec "$(dirname "$0")/soak.py" "$@"
