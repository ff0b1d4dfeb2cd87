#!/usr/bin/env bash
# hubgate invoice bench: UBL renders per second (issue "Invoices", 7).
#
# One run, side by side, in one process (build/invoice-gen bench N):
#   - compute + UBL render of one generated invoice of 40..60 lines (the
#     model, invoice_compute, the xmlTextWriter UBL renderer, malloc of the
#     output)
#   - invoice_compute alone
#   - baseline: xmlTextWriter writing the same number of elements, each
#     with an attribute and an amount, without the model
# and the ratio UBL / baseline (1.0 = no cost over libxml2's writer).
#
#   bench/invoice.sh [N]        N renders per scenario (default 20000)
set -euo pipefail

cd "$(dirname "$0")/.."
n=${1:-20000}

make -s build/invoice-gen
build/invoice-gen bench "$n"
