#!/bin/sh
# build-assets.sh: makes the GraphiQL page, OUTDIR/index.html. With npm, graphiql, react and
# react-dom come from the npm packages and are inlined (the page then works offline); without, it loads them from a CDN.
#
# usage: build-assets.sh SRCDIR OUTDIR NPM PACKAGES...
#   SRCDIR   folder holding index.html.in
#   NPM      the npm command, or "" to skip npm
#   PACKAGES pinned specs: graphiql@X react@Y react-dom@Z
#
# One self-contained page rather than separate asset files: tvsync-server then
# needs a single route (GET /graphql, Accept: text/html) and no file lookups.
set -u
srcdir=$1 outdir=$2 npm=$3
shift 3
packages="$*"
mkdir -p "$outdir" || exit 1

version_of() { # NAME: the version PACKAGES pins for it
    for spec in $packages; do
        case $spec in "$1"@*) echo "${spec#"$1"@}"; return ;; esac
    done
}

# Writes the page: the template with @GRAPHIQL_MODE@ filled in and the
# @STYLES@ and @SCRIPTS@ lines replaced by the output of the named functions.
render_page() { # MODE STYLES_FUNCTION SCRIPTS_FUNCTION
    {
        while IFS= read -r line; do
            case $line in
                @STYLES@) "$2" ;;
                @SCRIPTS@) "$3" ;;
                *@GRAPHIQL_MODE@*) printf '%s\n' "$line" | sed "s|@GRAPHIQL_MODE@|$1|" ;;
                *) printf '%s\n' "$line" ;;
            esac
        done <"$srcdir/index.html.in"
    } >"$outdir/index.html.tmp" && mv "$outdir/index.html.tmp" "$outdir/index.html"
}

if [ -n "$npm" ] && command -v "$npm" >/dev/null 2>&1; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT INT TERM
    modules="$work/node_modules"
    # Bounded: an unreachable registry must not hang the build, only fall back.
    if timeout 300 "$npm" install --no-save --no-audit --no-fund --no-package-lock \
            --fetch-retries=1 --fetch-timeout=30000 --loglevel=error \
            --prefix "$work" "$@" >"$work/npm.log" 2>&1; then
        css="$modules/graphiql/graphiql.min.css"
        scripts="$modules/react/umd/react.production.min.js $modules/react-dom/umd/react-dom.production.min.js $modules/graphiql/graphiql.min.js"
        # Inlined text must not close its element early: refuse rather than
        # serve a broken page (the pinned versions pass).
        for file in $scripts; do
            if grep -qi '</script' "$file" || { grep -q '<!--' "$file" && grep -qi '<script' "$file"; }; then
                echo "build-assets.sh: $file cannot be inlined in a <script> element" >&2
                exit 1
            fi
        done
        if grep -qi '</style' "$css"; then
            echo "build-assets.sh: $css cannot be inlined in a <style> element" >&2
            exit 1
        fi
        inline_styles() { printf '  <style>\n'; cat "$css"; printf '\n  </style>\n'; }
        inline_scripts() {
            for file in $scripts; do
                printf '  <script>\n'; cat "$file"; printf '\n  </script>\n'
            done
        }
        render_page "graphiql, react and react-dom inlined from the npm packages $packages" \
            inline_styles inline_scripts || exit 1
        for name in graphiql react react-dom; do
            cp "$modules/$name/LICENSE" "$outdir/LICENSE.$name" || exit 1
        done
        echo "GraphiQL: page built with the npm packages $packages inlined"
        exit 0
    fi
    echo "GraphiQL: npm install failed; the page will load GraphiQL from a CDN:" >&2
    tail -5 "$work/npm.log" >&2
fi

# No npm: the page loads the same versions from a CDN (the browser then needs
# internet access).
cdn=https://unpkg.com
graphiql_version=$(version_of graphiql)
react_version=$(version_of react)
react_dom_version=$(version_of react-dom)
cdn_styles() { printf '  <link rel="stylesheet" href="%s/graphiql@%s/graphiql.min.css">\n' "$cdn" "$graphiql_version"; }
cdn_scripts() {
    printf '  <script src="%s/react@%s/umd/react.production.min.js"></script>\n' "$cdn" "$react_version"
    printf '  <script src="%s/react-dom@%s/umd/react-dom.production.min.js"></script>\n' "$cdn" "$react_dom_version"
    printf '  <script src="%s/graphiql@%s/graphiql.min.js"></script>\n' "$cdn" "$graphiql_version"
}
render_page "no npm at build time, so graphiql, react and react-dom load from $cdn" cdn_styles cdn_scripts || exit 1
for name in graphiql react react-dom; do
    echo "not bundled: npm was not available when tvsync was built; index.html loads $name from $cdn" \
        >"$outdir/LICENSE.$name"
done
echo "GraphiQL: npm not available; the page loads GraphiQL from $cdn"
