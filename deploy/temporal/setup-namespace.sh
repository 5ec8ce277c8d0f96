#!/bin/sh
# Wait for the Temporal frontend, then create the namespace and the custom search
# attributes the OMS workflows set (oms/settings.py SEARCH_ATTRIBUTES; the fault of a
# missing one is a failed workflow start). Safe to re-run.
set -eu
NS="${TEMPORAL_NAMESPACE:-default}"
tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do
  tries=$((tries + 1))
  [ "$tries" -lt 90 ] || { echo "Temporal frontend not serving after 3 minutes" >&2; exit 1; }
  sleep 2
done
temporal operator namespace describe --namespace "$NS" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$NS" --retention 72h
for sa in OrderStatus=Keyword Warehouse=KeywordList Tags=KeywordList Stuck=Bool; do
  temporal operator search-attribute create --namespace "$NS" \
    --name "${sa%%=*}" --type "${sa#*=}" || echo "search attribute ${sa%%=*} already exists"
done
