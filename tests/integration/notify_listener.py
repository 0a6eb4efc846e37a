#!/usr/bin/env python3
# notify_listener: a stand-in for systemd's NOTIFY_SOCKET in the sd_notify tests. It logs
# every datagram with its CLOCK_MONOTONIC arrival time, and on READY=1 runs a probe command.
#
# usage: notify_listener.py SOCKET LOG [PROBE-COMMAND]
# Each log line is "<monotonic usec>\t<message>" with the message's newlines as "|";
# after a READY=1 the probe's exit status follows as "<usec>\tPROBE=<status>".
# "<usec>\tLISTENING" is the first line, written once the socket is bound.
import os
import signal
import socket
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: notify_listener.py SOCKET LOG [PROBE-COMMAND]\n")
        return 2
    path, log_path = sys.argv[1], sys.argv[2]
    probe = sys.argv[3] if len(sys.argv) > 3 else None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o777)
    with open(log_path, "a", buffering=1) as log:
        def write(text):
            log.write("%d\t%s\n" % (time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000, text))
        write("LISTENING")
        while True:
            data = listener.recv(65536)
            message = data.decode("utf-8", "replace").strip("\n")
            write(message.replace("\n", "|"))
            # The probe runs while the daemon has just said READY: it checks
            # that the daemon really is ready at that moment.
            if probe and "READY=1" in message.split("\n"):
                status = subprocess.run(probe, shell=True, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL).returncode
                write("PROBE=%d" % status)


if __name__ == "__main__":
    sys.exit(main())
