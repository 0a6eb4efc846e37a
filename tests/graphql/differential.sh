#!/bin/sh
# make check wrapper for the differential test: tvsync's gql-tool against graphql-js.
# Installs graphql-js from package-lock.json (npm ci) when it is not installed yet.
set -eu
: "${TVSYNC_SRCDIR:?run through make check, or set TVSYNC_SRCDIR and TVSYNC_BUILDDIR}"
: "${TVSYNC_BUILDDIR:?run through make check, or set TVSYNC_SRCDIR and TVSYNC_BUILDDIR}"
. "$TVSYNC_SRCDIR/tests/graphql/node-env.sh"
graphql_node_env || exit 1
exec node "$GRAPHQL_NODE_DIR/differential.mjs" --tool "$TVSYNC_BUILDDIR/server/graphql/gql-tool" "$@"
