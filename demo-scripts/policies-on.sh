#!/usr/bin/env bash
# Act 3 — the defence: default-deny in the vendor namespace, only agentgateway allowed in,
# and the rogue tool's SPIFFE identity denied towards the attacker. Safe to run again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "act 3 · policies on: applying AuthorizationPolicies on $VENDOR_CONTEXT"
vendor apply -f "$MANIFESTS/vendor-authorization-policies.yaml"
say "AuthorizationPolicies now on $VENDOR_CONTEXT:"
vendor get authorizationpolicies.security.istio.io -A
say "act 3 ready"
