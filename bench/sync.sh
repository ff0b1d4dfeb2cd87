#!/bin/sh
# make bench-sync: bench/sync.pl with the test harness's services (the
# private PostgreSQL and Redis, a database of its own, the fakes).
cd "$(dirname "$0")/.." && exec perl -It/lib bench/sync.pl "$@"
