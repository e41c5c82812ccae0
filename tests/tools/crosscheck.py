#!/usr/bin/env python3
"""Runs request/response cases through a real HAProxy (2.6.12 here) and records what it did
as test vectors for src/persist/tests/haproxy_vectors.rs.

usage: crosscheck.py OUT_FILE [random_cases_per_config] [seed]

Starts backends.py (4 servers) and haproxy -db with one frontend/backend pair per cookie
configuration, sends each case on a fresh connection, and records: the Cookie headers the
server received, the server that answered, the cookie log flags (%tsc chars 3-4), and the
Set-Cookie / Cache-Control lines the client received.
"""
import os
import random
import socket
import subprocess
import sys
import threading
import time

BASE = 23100          # servers on BASE+1..BASE+4, frontends on BASE+100+i
SOCK = "/tmp/tether-persist-hap.sock"

# id -> (cookie directive options, option persist)
CONFIGS = {
    "A": ("insert indirect nocache", False),
    "B": ("insert", False),
    "C": ("prefix", False),
    "D": ("prefix indirect", False),
    "E": ("rewrite", False),
    "F": ("", False),
    "G": ("indirect", False),
    "H": ("insert indirect preserve", False),
    "I": ("insert postonly nocache", False),
    "J": ("insert indirect nocache httponly secure domain .example.com domain .example.org "
          "attr SameSite=Lax attr Max-Age=3600 maxidle 1800 maxlife 28800", False),
    "K": ("insert indirect maxidle 20", False),
    "L": ("insert indirect maxlife 28800", False),
    "M": ("insert indirect", True),
    "N": ("insert preserve", False),
    "P": ("prefix indirect preserve", False),
    "Q": ("insert nocache", False),
}
# server name -> cookie value (None = no cookie); s4 shares s1's value
SERVERS = [("s1", "s1"), ("s2", "s2"), ("s3", None), ("s4", "s1")]

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def enc(t):
    v = (t + 3) >> 2
    return "".join(B64[(v >> (24 - 6 * i)) & 63] for i in range(5))


def haproxy_cfg():
    out = [
        "global",
        "    log stdout format raw local0",
        "    stats socket %s level admin" % SOCK,
        "    tune.bufsize 65536",
        "    tune.maxrewrite 4096",
        "defaults",
        "    mode http",
        "    log global",
        "    timeout connect 1s",
        "    timeout client 5s",
        "    timeout server 5s",
        '    log-format "CASE %[capture.req.hdr(0)] %tsc %s"',
    ]
    for i, (cid, (opts, persist)) in enumerate(sorted(CONFIGS.items())):
        out += [
            "frontend fe_%s" % cid,
            "    bind 127.0.0.1:%d" % (BASE + 100 + i),
            "    capture request header x-case len 32",
            "    default_backend be_%s" % cid,
            "backend be_%s" % cid,
            "    balance roundrobin",
            "    cookie SRV %s" % opts,
            "    force-persist if { req.hdr(x-rule) -m str force }",
            "    ignore-persist if { req.hdr(x-rule) -m str ignore }",
            "    use-server s2 if { req.hdr(x-use) -m str s2 }",
        ]
        if persist:
            out.append("    option persist")
        for j, (name, ck) in enumerate(SERVERS):
            line = "    server %s 127.0.0.1:%d" % (name, BASE + 1 + j)
            if ck is not None:
                line += " cookie %s" % ck
            out.append(line)
    return "\n".join(out) + "\n"


def esc(b):
    out = []
    for i, c in enumerate(b):
        edge = i == 0 or i == len(b) - 1
        if c == 0x5C:
            out.append("\\\\")
        elif 0x21 <= c <= 0x7E or (c == 0x20 and not edge):
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


class Logs:
    def __init__(self, proc):
        self.lines = {}
        self.cv = threading.Condition()
        threading.Thread(target=self.read, args=(proc,), daemon=True).start()

    def read(self, proc):
        for raw in proc.stdout:
            line = raw.decode("latin1").strip()
            if line.startswith("CASE "):
                parts = line.split(" ")
                with self.cv:
                    self.lines[parts[1]] = (parts[2], parts[3])
                    self.cv.notify_all()

    def wait(self, cid, timeout=3):
        end = time.time() + timeout
        with self.cv:
            while cid not in self.lines and time.time() < end:
                self.cv.wait(0.05)
            return self.lines.pop(cid, None)


def admin(cmd):
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    s.sendall(cmd.encode() + b"\n")
    s.recv(4096)
    s.close()


def send(port, raw):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    s.sendall(raw)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    head = data.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    hdrs = []
    for line in lines[1:]:
        n, _, v = line.partition(b":")
        hdrs.append((n.strip().lower(), v.lstrip(b" \t")))
    return status, hdrs


def run_case(logs, ports, cid, case):
    conf = case["config"]
    for m in case.get("maint", []):
        admin("set server be_%s/%s state maint" % (conf, m))
    if "cookies_fn" in case:
        case["cookies"] = case.pop("cookies_fn")(int(time.time()))
    req = [b"%s /x HTTP/1.1" % case["method"].encode(), b"host: t", b"x-case: " + cid.encode()]
    for c in case.get("cookies", []):
        req.append(b"cookie: " + c)
    for sc in case.get("sc", []):
        req.append(b"x-sc-hex: " + sc.hex().encode())
    for rh in case.get("rh", []):
        req.append(b"x-rh-hex: " + rh.hex().encode())
    req.append(b"x-status: %d" % case.get("status", 200))
    if case.get("rule"):
        req.append(b"x-rule: " + case["rule"].encode())
    if case.get("use"):
        req.append(b"x-use: " + case["use"].encode())
    if case["method"] == "POST":
        req.append(b"content-length: 0")
    req.append(b"connection: close")
    raw = b"\r\n".join(req) + b"\r\n\r\n"
    for _attempt in range(5):
        t0 = int(time.time())
        status, hdrs = send(ports[conf], raw)
        t1 = int(time.time())
        log = logs.wait(cid)
        if t0 == t1:
            break
    for m in case.get("maint", []):
        admin("set server be_%s/%s state ready" % (conf, m))
    if log is None or status == 400 or not [v for n, v in hdrs if n == b"x-server"]:
        return None
    got = [v for n, v in hdrs if n == b"x-got"]
    served = [v for n, v in hdrs if n == b"x-server"]
    rec = ["case %s %s" % (cid, conf), "method " + case["method"], "now %d" % t0]
    for m in case.get("maint", []):
        rec.append("maint " + m)
    if case.get("rule"):
        rec.append("rule " + case["rule"])
    if case.get("use"):
        rec.append("use " + case["use"])
    for c in case.get("cookies", []):
        rec.append("cookie " + esc(c))
    for sc in case.get("sc", []):
        rec.append("sc " + esc(sc))
    for rh in case.get("rh", []):
        rec.append("rh " + esc(rh))
    rec.append("status %d" % case.get("status", 200))
    if got and got[0] != b"none":
        for h in got[0].split(b","):
            rec.append("fwd " + esc(bytes.fromhex(h.decode())))
    rec.append("served " + (served[0].decode() if served else "-"))
    rec.append("flags " + log[0])
    for n, v in hdrs:
        if n == b"set-cookie":
            rec.append("out-sc " + esc(v))
        if n == b"cache-control":
            rec.append("out-cc " + esc(v))
    rec.append("end")
    return "\n".join(rec)


# ---------------------------------------------------------------- case generation

NAMES = ["SRV"] * 6 + ["a", "b", "srv", "SRVx", "xSRV", "$Version", "$Path", "S RV", ""]
VALUES = ["s1", "s1", "s2", "s2", "s3", "s4", "s1x", "", "zz", "s1~abc", "zz~abc", "~", "~x",
          "s2~", '"s1"', "s1|AAAAA", "s2|!!!!!", "s1 x", "s1|", "s2||", "a\"b;c\"d", "1",
          "s1~a~b", "s2|abc", "\xe9t\xe9"]
SEPS = [";", "; ", " ; ", ",", ";;", "; ;", " ,", "\t;", ";\t", "; ,"]
EQS = ["="] * 8 + [" = ", "= ", " =", "=\t", "=="]


def rnd_cookie_header(r, dated_now=None):
    items = []
    for _ in range(r.randint(1, 5)):
        k = r.random()
        if k < 0.08:
            items.append(r.choice(["SRV", "a", "x y", ""]))
        elif k < 0.14:
            items.append(r.choice(['$Version="1"', '$Path="/"', "$Domain=x"]))
        else:
            v = r.choice(VALUES)
            if dated_now is not None and r.random() < 0.6:
                v = r.choice(["s1", "s2", "s4", "zz"]) + dated_suffix(r, dated_now)
            items.append(r.choice(NAMES) + r.choice(EQS) + v)
    h = items[0]
    for it in items[1:]:
        h += r.choice(SEPS) + it
    if r.random() < 0.15:
        h += r.choice(SEPS)
    if r.random() < 0.05:
        h = r.choice([" ", "\t", ";"]) + h
    return h.encode("latin1")


def dated_suffix(r, now):
    # Offsets stay >= 3 s away from the limits tested (maxidle 20/1800, maxlife 28800,
    # 86400 ahead) so that a second of clock skew cannot flip the outcome.
    offs = [0, 5, 10, 100, 1000, 1900, 3000, 30000, -3600, -90000, -200000, 15, 25]
    last = now - r.choice(offs)
    first = now - r.choice(offs)
    k = r.random()
    if k < 0.4:
        return "|" + enc(last) + "|" + enc(first)
    if k < 0.6:
        return "|" + enc(last)
    if k < 0.7:
        return "||" + enc(first)
    if k < 0.8:
        return "|" + enc(last) + "xyz|" + enc(first)
    return "|" + r.choice(["!!!!!", "=====", "abc", "AAAAA", "/////"]) + "|" + enc(first)


SC_VALUES = [b"SRV=xyz; path=/", b"SRV = abc ; Max-Age=10", b"a=1; SRV=2", b"SRV", b"SRV=",
             b"JSESSIONID=abc; Path=/app; HttpOnly", b"SRV=q,r; Expires=Thu, 01-Jan-2099 00:00:00 GMT",
             b"srv=lower", b"SRV=\"quoted;x\"; path=/", b" SRV=lead", b"SRV=s1|AAAAA", b"=x",
             b"SRV\t=\tt ; secure", b"b=2"]
RH = [b"Cache-Control: max-age=60", b"Cache-Control: public", b"Cache-Control: private",
      b"Cache-Control: no-cache, max-age=60", b"Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT",
      b"Pragma: no-cache", b"Expires: Thu, 01 Jan 2099 00:00:00 GMT", b"ETag: \"x\"",
      b"Cache-Control: public, max-age=5", b"Cache-Control: max-age=0"]


def rnd_case(r, conf, now):
    dated = conf in ("J", "K", "L")
    case = {"config": conf, "method": r.choice(["GET"] * 6 + ["POST", "HEAD", "PUT"])}
    case["cookies"] = [rnd_cookie_header(r, now if dated else None)
                       for _ in range(r.choice([0, 1, 1, 1, 2, 3]))]
    if r.random() < 0.5:
        case["sc"] = [r.choice(SC_VALUES) for _ in range(r.randint(1, 3))]
    if r.random() < 0.4:
        case["rh"] = [r.choice(RH) for _ in range(r.randint(1, 2))]
    case["status"] = r.choice([200] * 6 + [204, 302, 404, 503, 301])
    k = r.random()
    if k < 0.1:
        case["rule"] = "force"
    elif k < 0.2:
        case["rule"] = "ignore"
    if r.random() < 0.08:
        case["use"] = "s2"
    k = r.random()
    if k < 0.12:
        case["maint"] = ["s1"]
    elif k < 0.2:
        case["maint"] = ["s2"]
    elif k < 0.24:
        case["maint"] = ["s1", "s4"]
    return case


def fixed_cases(now):
    """The reference's tables, row by row, plus targeted cases."""
    cs = []

    def add(conf, cookies, **kw):
        c = {"config": conf, "method": kw.pop("method", "GET"),
             "cookies": [x.encode("latin1") for x in cookies]}
        c.update(kw)
        cs.append(c)

    # 1.3 separator table (insert indirect)
    for h in ["a=1; SRV=s1; b=2", "a=1;SRV=s2;b=2", "a=1 ; SRV=s2 ; b=2", "a=1;b=2;SRV=s2",
              "SRV=s2; a=1; b=2", "SRV=s2;a=1", "a=1,SRV=s2", "a=1; SRV=s2;",
              "x=1;  SRV = s2 ; y=2", "SRV=s1; SRV=s2", "SRV=s2; SRV=s1; a=1",
              '$Version="1"; SRV=s2; $Path="/"; a=1', "SRV; a=1", "srv=s2", "SRV=s1x",
              "SRV=s1", "SRV=", "SRV=bogus; SRV=s1", "SRV=s1; SRV=bogus", "a = 1; b =2",
              "SRV=s2 ; $Path=/", "a=1;;SRV=s2;;b=2", "SRV=\"s1\"", "SRV=s1,a=1", "SRV=s2, SRV=s1"]:
        add("A", [h])
    add("A", ["a=1", "SRV=s2; b=2"])
    add("A", ["SRV=s1", "SRV=s2"])
    add("A", ["SRV=s2"], maint=["s2"])
    add("A", ["SRV=s1"], maint=["s1"])
    add("A", ["SRV=s1"], maint=["s1", "s4"])
    add("A", ["SRV=s2"], rule="ignore")
    add("A", ["SRV=s2"], rule="force", maint=["s2"])
    add("A", ["SRV=s1"], use="s2")
    add("M", ["SRV=s2"], maint=["s2"])
    # prefix (seen on HAProxy 2.6.12)
    for h in ["JSESSIONID=zz~abc", "SRV=zz~abc", "SRV=s1~abc", "SRV=s1", "SRV=~abc",
              "a=1; SRV=s2~x; b=2", "SRV=s2~", "SRV = s1~abc"]:
        add("C", [h])
    add("C", ["SRV=s1~abc"], sc=[b"SRV=def; Path=/app; HttpOnly"])
    add("D", ["SRV=s1~abc"], sc=[b"SRV=def; Path=/app; HttpOnly"])
    add("C", [], sc=[b"JSESSIONID=abc; Path=/app; HttpOnly", b"SRV=abc; Path=/app; HttpOnly"])
    # rewrite / passive
    add("E", [], sc=[b"SRV=xyz; path=/; Max-Age=10"])
    add("E", ["SRV=s2"], sc=[b"SRV=xyz; path=/; Max-Age=10"])
    add("F", ["SRV=s2"], sc=[b"SRV=s2; path=/"])
    add("F", ["SRV=bogus"])
    add("G", ["SRV=s2"], sc=[b"SRV=s2; path=/"])
    # insert deletes the server's own cookie, preserve keeps it
    add("B", ["SRV=s2"], sc=[b"SRV=mine; path=/"])
    add("B", [], sc=[b"SRV=mine; path=/"])
    add("H", [], sc=[b"SRV=mine; path=/"])
    add("H", ["SRV=s2"], sc=[b"SRV=mine; path=/"])
    add("N", [], sc=[b"SRV=mine; path=/"])
    add("P", ["SRV=s1~abc"], sc=[b"SRV=def"])
    # Set-Cookie: blanks around '=' are stripped whatever the name; only the first pair
    add("B", [], sc=[b"a = 1; path=/", b"cook1=0; SRV=123", b"SRV\t= x;SRV=y"])
    add("E", [], sc=[b"SRV = ; path=/", b"SRV=a,b; Expires=Thu, 01-Jan-1970 00:00:01 GMT"])
    add("C", [], sc=[b"SRV=\"q~\";x", b"SRV=,x"])
    # big headers (8+ KiB)
    add("A", ["a=" + "x" * 9000 + "; SRV=s2; b=" + "y" * 100])
    add("A", [";".join("c%d=%d" % (i, i) for i in range(900)) + ";SRV=s1"])
    add("A", ["; ".join(["SRV=s2"] * 700) + "; z=1"])
    add("C", ["SRV=s1~" + "v" * 9000])
    # postonly
    add("I", [], method="POST")
    add("I", [], method="GET")
    # nocache table
    for rh, m, st in [([], "GET", 200), ([b"Cache-Control: max-age=60"], "GET", 200),
                      ([b"Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT"], "GET", 200),
                      ([b"Cache-Control: max-age=60"], "GET", 301),
                      ([b"Cache-Control: max-age=60"], "GET", 302),
                      ([b"Cache-Control: max-age=60"], "POST", 200),
                      ([b"Cache-Control: private"], "GET", 200),
                      ([b"Cache-Control: max-age=0"], "GET", 200),
                      ([b"Cache-Control: public"], "GET", 200),
                      ([b"Cache-Control: public, max-age=60"], "POST", 200),
                      ([b"Cache-Control: public, max-age=60"], "GET", 302)]:
        add("A", [], rh=rh, method=m, status=st)
    # insertion format with domains and attrs (seen on HAProxy 2.6.12), removal cookie for s3
    add("J", [])
    add("J", [], use="s2")
    # Seen on HAProxy 2.6.12: date matrix (cookies computed when sent)
    def dated(conf, fmt, offsets):
        cs.append({"config": conf, "method": "GET", "cookies_fn": lambda t: [
            (fmt % tuple(enc(t + o) for o in offsets)).encode()]})
    dated("J", "SRV=s2", [])
    dated("J", "SRV=s2|%s|%s", [0, 0])
    dated("J", "SRV=s2|%s|%s", [-10, -100])
    dated("J", "SRV=s2|%s|%s", [-1900, -100])
    dated("J", "SRV=s2|%s|%s", [-10, -30000])
    dated("J", "SRV=s2|%s|%s", [2 * 86400, 0])
    dated("J", "SRV=s2|%s|%s", [3600, 0])
    dated("J", "SRV=s2|!!!!!|@@@@@", [])
    dated("J", "SRV=s2|abc", [])
    dated("A", "SRV=s2|%s", [-100])
    dated("A", "SRV=s2|%s", [100])
    dated("K", "SRV=s2|%s|%s", [-8, -100])
    dated("L", "SRV=s2|%s", [-100])
    dated("L", "SRV=s2", [])
    return cs


def main():
    out_path = sys.argv[1]
    n_random = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    here = os.path.dirname(os.path.abspath(__file__))
    cfg_path = "/tmp/tether-persist-hap.cfg"
    with open(cfg_path, "w") as f:
        f.write(haproxy_cfg())
    be = subprocess.Popen([sys.executable, os.path.join(here, "backends.py"), str(BASE)],
                          stdout=subprocess.PIPE)
    be.stdout.readline()
    hap = subprocess.Popen(["haproxy", "-db", "-f", cfg_path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    try:
        logs = Logs(hap)
        time.sleep(1.0)
        ports = {cid: BASE + 100 + i for i, cid in enumerate(sorted(CONFIGS))}
        r = random.Random(seed)
        cases = fixed_cases(int(time.time()))
        for conf in sorted(CONFIGS):
            for _ in range(n_random):
                cases.append((r, conf))
        records = []
        header = ["# Recorded from %s by tests/tools/crosscheck.py (seed %d)."
                  % (subprocess.run(["haproxy", "-v"], capture_output=True).stdout.decode()
                     .splitlines()[0], seed)]
        for cid, (opts, persist) in sorted(CONFIGS.items()):
            header.append("config %s %s%s" % (cid, "persist " if persist else "", opts))
        header.append("servers " + " ".join("%s=%s" % (n, c or "") for n, c in SERVERS))
        for i, case in enumerate(cases):
            if isinstance(case, tuple):
                # random cases are drawn when sent, so their dates are relative to then
                case = rnd_case(case[0], case[1], int(time.time()))
            rec = run_case(logs, ports, str(i), case)
            if rec:
                records.append(rec)
        with open(out_path, "w") as f:
            f.write("\n".join(header) + "\n" + "\n".join(records) + "\n")
        print("%d cases recorded" % len(records))
    finally:
        hap.terminate()
        be.terminate()


if __name__ == "__main__":
    main()
