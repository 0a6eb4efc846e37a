# Sourced by the graphql test scripts: finds node and a graphql-js installation.
# The source tree may be read-only (make distcheck), so when it has no node_modules the
# scripts are copied to the build tree and `npm ci` installs graphql-js there.

# graphql_node_env: sets GRAPHQL_NODE_DIR to a folder holding the .mjs scripts and a
# node_modules with graphql-js; returns non-zero with a message when that fails.
graphql_node_env() {
	src="$TVSYNC_SRCDIR/tests/graphql"
	if ! command -v node >/dev/null 2>&1; then
		echo "graphql tests: node is not installed (apt-get install nodejs npm)" >&2
		return 1
	fi
	if [ -f "$src/node_modules/graphql/package.json" ]; then
		GRAPHQL_NODE_DIR=$src
		return 0
	fi
	GRAPHQL_NODE_DIR="$TVSYNC_BUILDDIR/tests/graphql/node"
	mkdir -p "$GRAPHQL_NODE_DIR"
	# Several graphql tests run at once under make -j: one installs, the others wait.
	(
		flock 9
		cp "$src"/package.json "$src"/package-lock.json "$src"/*.mjs "$GRAPHQL_NODE_DIR"/
		if [ -f "$GRAPHQL_NODE_DIR/node_modules/graphql/package.json" ]; then
			exit 0
		fi
		echo "graphql tests: installing graphql-js with npm ci in $GRAPHQL_NODE_DIR" >&2
		if ! (cd "$GRAPHQL_NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2); then
			echo "graphql tests: npm ci failed: graphql-js (tests/graphql/package-lock.json) is needed;" >&2
			echo "  run 'npm ci' in tests/graphql with network access, or fill the npm cache first" >&2
			exit 1
		fi
	) 9>"$GRAPHQL_NODE_DIR.lock"
}
