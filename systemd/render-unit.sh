#!/bin/sh
# render-unit.sh: makes a unit file from its .in template: install paths, the shared
# hardening block, and the notify type the target systemd supports.
#
# usage: render-unit.sh TEMPLATE HARDENING BINDIR SYSCONFDIR SYSTEMD_VERSION > UNIT
# SYSTEMD_VERSION: the systemd the unit is for (empty: this machine's, else 0).
# systemd >= 253 has Type=notify-reload: it sends SIGHUP itself and waits for the
# daemon's RELOADING=1/READY=1; older ones need Type=notify and an ExecReload= kill.
set -eu
template=$1 hardening=$2 bindir=$3 sysconfdir=$4 version=${5:-}
if [ -z "$version" ]; then
    version=$(systemctl --version 2>/dev/null | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
fi
case ${version:-0} in
    *[!0-9]*) echo "render-unit.sh: SYSTEMD_VERSION must be a number, not '$version'" >&2; exit 2 ;;
esac
if [ "${version:-0}" -ge 253 ]; then
    notify_type=notify-reload
    reload_comment="# systemd $version: Type=notify-reload sends SIGHUP and waits for RELOADING=1, then READY=1."
    exec_reload=""
else
    notify_type=notify
    reload_comment="# systemd ${version:-0} has no Type=notify-reload: ExecReload= sends SIGHUP; the daemon says RELOADING=1, then READY=1."
    exec_reload='ExecReload=/bin/kill -HUP $MAINPID'
fi
sed -e "s|@bindir@|$bindir|g" \
    -e "s|@sysconfdir@|$sysconfdir|g" \
    -e "s|@NOTIFY_TYPE@|$notify_type|g" \
    -e "s|@RELOAD_COMMENT@|$reload_comment|" \
    -e "/@HARDENING@/{r $hardening" -e 'd;}' \
    "$template" | {
    if [ -n "$exec_reload" ]; then
        sed "s|@EXEC_RELOAD@|$exec_reload|"
    else
        sed '/@EXEC_RELOAD@/d'
    fi
}
