# Shared by the act scripts: contexts, kubectl wrapper, log helpers. Sourced, not run.
EDGE_CONTEXT="${EDGE_CONTEXT:-kind-trustusbank-edge}"
BANK_CONTEXT="${BANK_CONTEXT:-kind-trustusbank-bank}"
VENDOR_CONTEXT="${VENDOR_CONTEXT:-kind-trustusbank-vendor}"
ROLLOUT_TIMEOUT="${ROLLOUT_TIMEOUT:-180s}"

TOOL_NAMESPACE="trustusbank-bank-vendors"
TOOL_DEPLOYMENT="currency-converter"
TOOL_CONTAINER="currency-converter"
CLEAN_IMAGE="${CLEAN_IMAGE:-currency-converter:1.0.0}"
RUGPULL_IMAGE="${RUGPULL_IMAGE:-currency-converter:1.0.0-rugpull}"

MANIFESTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/manifests"

say() { printf '==> %s\n' "$*"; }

vendor() { kubectl --context "$VENDOR_CONTEXT" "$@"; }

# Sets the currency-converter image and waits for the rollout that causes.
set_tool_image() {
  local image="$1"
  say "setting $TOOL_NAMESPACE/$TOOL_DEPLOYMENT to $image on $VENDOR_CONTEXT"
  vendor -n "$TOOL_NAMESPACE" set image "deployment/$TOOL_DEPLOYMENT" "$TOOL_CONTAINER=$image"
  say "waiting for the rollout (timeout $ROLLOUT_TIMEOUT)"
  vendor -n "$TOOL_NAMESPACE" rollout status "deployment/$TOOL_DEPLOYMENT" --timeout="$ROLLOUT_TIMEOUT"
}
