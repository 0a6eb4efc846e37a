#!/bin/sh
# build-assets.sh: makes the GraphiQL page and its assets in OUTDIR. With npm it takes
# graphiql, react and react-dom from the npm packages (works offline afterwards); without, the page loads them from a CDN.
#
# usage: build-assets.sh SRCDIR OUTDIR NPM PACKAGES...
#   SRCDIR   folder holding index.html.in
#   NPM      the npm command, or "" to skip npm
#   PACKAGES e.g. graphiql@3.8.3 react@18.3.1 react-dom@18.3.1
set -u
srcdir=$1 outdir=$2 npm=$3
shift 3

assets="graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js"
mkdir -p "$outdir" || exit 1

version_of() { # NAME: the version PACKAGES pins for it
    for spec in $packages; do
        case $spec in "$1"@*) echo "${spec#"$1"@}"; return ;; esac
    done
}
packages="$*"

render_page() { # MODE CSS REACT REACT_DOM GRAPHIQL
    sed -e "s|@GRAPHIQL_MODE@|$1|" -e "s|@GRAPHIQL_CSS@|$2|" -e "s|@REACT_JS@|$3|" \
        -e "s|@REACT_DOM_JS@|$4|" -e "s|@GRAPHIQL_JS@|$5|" \
        "$srcdir/index.html.in" >"$outdir/index.html.tmp" && mv "$outdir/index.html.tmp" "$outdir/index.html"
}

if [ -n "$npm" ] && command -v "$npm" >/dev/null 2>&1; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT INT TERM
    # Bounded: an unreachable registry must not hang the build, only fall back.
    if timeout 300 "$npm" install --no-save --no-audit --no-fund --no-package-lock \
            --fetch-retries=1 --fetch-timeout=30000 --loglevel=error \
            --prefix "$work" "$@" >"$work/npm.log" 2>&1 &&
       cp "$work/node_modules/graphiql/graphiql.min.js" "$work/node_modules/graphiql/graphiql.min.css" \
          "$work/node_modules/react/umd/react.production.min.js" \
          "$work/node_modules/react-dom/umd/react-dom.production.min.js" "$outdir/"; then
        for name in graphiql react react-dom; do
            cp "$work/node_modules/$name/LICENSE" "$outdir/LICENSE.$name" 2>/dev/null
        done
        render_page "assets from the npm packages $*, served by tvsync-server" \
            /graphiql/graphiql.min.css /graphiql/react.production.min.js \
            /graphiql/react-dom.production.min.js /graphiql/graphiql.min.js || exit 1
        echo "GraphiQL: assets from npm ($*)"
        exit 0
    fi
    echo "GraphiQL: npm install failed; the page will load GraphiQL from a CDN:" >&2
    tail -5 "$work/npm.log" >&2
fi

# No npm: the page loads the same versions from a CDN (needs internet access in
# the browser). The asset files say so rather than being absent, so the
# install layout does not depend on the build machine.
cdn=https://unpkg.com
graphiql_version=$(version_of graphiql)
react_version=$(version_of react)
react_dom_version=$(version_of react-dom)
render_page "no npm at build time: assets load from $cdn" \
    "$cdn/graphiql@$graphiql_version/graphiql.min.css" \
    "$cdn/react@$react_version/umd/react.production.min.js" \
    "$cdn/react-dom@$react_dom_version/umd/react-dom.production.min.js" \
    "$cdn/graphiql@$graphiql_version/graphiql.min.js" || exit 1
for asset in $assets; do
    echo "/* not bundled: npm was not available when tvsync was built; index.html loads this from $cdn */" >"$outdir/$asset"
done
for name in graphiql react react-dom; do
    echo "not bundled (see index.html)" >"$outdir/LICENSE.$name"
done
echo "GraphiQL: npm not available; the page loads GraphiQL from $cdn"
