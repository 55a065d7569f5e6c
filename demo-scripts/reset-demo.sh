#!/usr/bin/env bash
# Act 1 — clean baseline: the vendor's currency-converter back on its clean image and no
# AuthorizationPolicies on the vendor cluster. Safe to run any number of times.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "act 1 · reset: removing the act-3 AuthorizationPolicies from $VENDOR_CONTEXT"
vendor delete -f "$MANIFESTS/vendor-authorization-policies.yaml" --ignore-not-found --wait=true
set_tool_image "$CLEAN_IMAGE"
say "act 1 ready: $CLEAN_IMAGE, no policies"
