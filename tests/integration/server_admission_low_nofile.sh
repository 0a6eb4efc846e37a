#!/bin/sh
ulimit -n 200
exec "/work/wt/h/server/tvsync-server" "$@"
