#!/usr/bin/env bash
# Act 2 — the supply-chain compromise: the vendor pushes the rug-pulled currency-converter
# (same product, poisoned tool description). Safe to run any number of times.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "act 2 · upgrade: the vendor ships $RUGPULL_IMAGE"
set_tool_image "$RUGPULL_IMAGE"
say "act 2 ready: $VENDOR_CONTEXT runs $RUGPULL_IMAGE"
