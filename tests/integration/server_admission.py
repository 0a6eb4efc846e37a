# server_admission.py: the clients of server_admission.sh, which the shell cannot be:
# hundreds of connections held open at once, and a client that writes a whole large body
# before reading its answer (as most HTTP clients do).
#   idle PORT N       N keep-alive connections, each answered once, then left idle
#   busy PORT N       N connections answered once, then left in the middle of a request
#   raw PORT N        N connections that send half a request without waiting for anything
#   big PORT TRIES MB TRIES POSTs of MB MiB, each written in full before reading
# idle, busy and raw print "ready" (and for raw the count of 503 answers seen so far) and
# hold the connections until stdin closes; big prints one status (or error) per try.
import select
import socket
import sys
import time


def status_line(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def read_answer(sock):
    """Reads one answer to a GET /health (Content-Length framed); returns its status line."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data.split(b"\r\n", 1)[0].decode("latin-1") or "closed"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return head.split(b"\r\n", 1)[0].decode("latin-1")


def hold(port, count, mode):
    sockets = []
    statuses = {}
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        if mode in ("idle", "busy"):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            status = read_answer(sock)
            statuses[status] = statuses.get(status, 0) + 1
            if mode == "busy":
                sock.sendall(b"GET /health HTTP/1.1\r\n")
        else:
            sock.sendall(b"GET /health HTTP/1.1\r\n")
        sockets.append(sock)
    if mode == "raw":
        # The answers that came within a second (a 503 comes at once, or never).
        refused = 0
        waiting = {sock.fileno(): sock for sock in sockets}
        deadline = time.monotonic() + 1
        while waiting and time.monotonic() < deadline:
            readable, _, _ = select.select(list(waiting), [], [], max(0, deadline - time.monotonic()))
            for fd in readable:
                try:
                    if b" 503 " in waiting.pop(fd).recv(4096):
                        refused += 1
                except OSError:
                    pass
        print("ready", refused, flush=True)
    else:
        print("ready", " ".join("%s=%d" % (k.replace(" ", "_"), v) for k, v in sorted(statuses.items())), flush=True)
    sys.stdin.read()


def big(port, tries, megabytes):
    body = b"x" * (megabytes << 20)
    head = ("POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    for _ in range(tries):
        sock = socket.create_connection(("127.0.0.1", port))
        try:
            sock.sendall(head + body)
            print(status_line(sock) or "closed", flush=True)
        except OSError as error:
            print("error", error.__class__.__name__, flush=True)
        finally:
            sock.close()


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "big":
        big(port, int(sys.argv[3]), int(sys.argv[4]))
    else:
        hold(port, int(sys.argv[3]), mode)
