#!/usr/bin/env python3
"""Raw HTTP/1.1 back ends for the HAProxy cross-check.

Each server answers every request with:
  x-server: <name>
  x-got: <hex of each received Cookie header value, comma separated> | none
  one Set-Cookie line per request header `x-sc-hex: <hex>` (value sent verbatim)
  one raw header line per request header `x-rh-hex: <hex>` (e.g. b"Cache-Control: max-age=60")
  status from `x-status` (default 200)
"""
import socket
import sys
import threading


def handle(conn, name):
    try:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        hdrs = []
        for line in lines[1:]:
            n, _, v = line.partition(b":")
            hdrs.append((n.strip().lower(), v.lstrip(b" \t")))
        clen = 0
        for n, v in hdrs:
            if n == b"content-length":
                clen = int(v)
        while len(rest) < clen:
            chunk = conn.recv(65536)
            if not chunk:
                break
            rest += chunk
        cookies = [v for n, v in hdrs if n == b"cookie"]
        got = b",".join(c.hex().encode() for c in cookies) if cookies else b"none"
        status = b"200"
        out = []
        for n, v in hdrs:
            if n == b"x-status":
                status = v
            elif n == b"x-sc-hex":
                out.append(b"Set-Cookie: " + bytes.fromhex(v.decode()))
            elif n == b"x-rh-hex":
                out.append(bytes.fromhex(v.decode()))
        resp = [b"HTTP/1.1 " + status + b" X", b"x-server: " + name, b"x-got: " + got]
        resp += out
        resp += [b"content-length: 0", b"connection: close"]
        conn.sendall(b"\r\n".join(resp) + b"\r\n\r\n")
    except Exception as e:  # noqa
        sys.stderr.write("backend error %r\n" % (e,))
    finally:
        conn.close()


def serve(port, name):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, name), daemon=True).start()


if __name__ == "__main__":
    base = int(sys.argv[1])
    for i in range(1, 5):
        threading.Thread(target=serve, args=(base + i, b"s%d" % i), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()
