#!/usr/bin/env python3
"""Mixed HTTP load against kura serve for bench/soak.sh; prints process figures every 10 s."""
import argparse
import http.client
import os
import random
import socket
import threading
import time
from collections import Counter

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--ops-port", type=int, required=True)
p.add_argument("--pid", type=int, required=True)
p.add_argument("--duration", type=int, default=600)
p.add_argument("--rate", type=int, default=150)
p.add_argument("--workers", type=int, default=16)
a = p.parse_args()

lock = threading.Lock()
done = Counter()      # requests by kind
errors = Counter()    # errors by kind
stop = time.monotonic() + a.duration


def record(kind, err=None):
    with lock:
        done[kind] += 1
        if err:
            errors[err] += 1


def expect(kind, status, want):
    record(kind, None if status in want else f"{kind}:{status}")


def one(conn, rnd):
    x = rnd.random()
    if x < 0.50:
        conn.request("GET", "/bench/4k.bin")
        r = conn.getresponse(); r.read(); expect("hit4k", r.status, {200})
    elif x < 0.60:
        conn.request("GET", "/bench/1m.bin")
        r = conn.getresponse(); r.read(); expect("hit1m", r.status, {200})
    elif x < 0.70:
        s = rnd.randrange(0, (1 << 20) - 5000)
        conn.request("GET", "/bench/1m.bin", headers={"Range": f"bytes={s}-{s + 4095}"})
        r = conn.getresponse(); r.read(); expect("range", r.status, {206})
    elif x < 0.82:
        conn.request("GET", f"/bench/soak/{rnd.randrange(200)}.bin")
        r = conn.getresponse(); r.read(); expect("refill", r.status, {200})
    elif x < 0.87:
        conn.request("HEAD", "/bench/4k.bin")
        r = conn.getresponse(); r.read(); expect("head", r.status, {200})
    elif x < 0.92:
        conn.request("GET", "/bench/4k.bin")
        r = conn.getresponse(); r.read()
        conn.request("GET", "/bench/4k.bin", headers={"If-None-Match": r.getheader("ETag") or '"x"'})
        r = conn.getresponse(); r.read(); expect("conditional", r.status, {304})
    elif x < 0.95:
        conn.request("GET", f"/bench/missing/{rnd.randrange(1 << 30)}")
        r = conn.getresponse(); r.read(); expect("notfound", r.status, {404})
    elif x < 0.98:
        conn.request(f"JUNK{rnd.randrange(1 << 30)}", f"/bench/junk/{rnd.randrange(1 << 30)}")
        r = conn.getresponse(); r.read(); expect("junk", r.status, {405})
    else:
        # A client that leaves in the middle of a 1 MiB body (a reset, not a polite close).
        s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        s.sendall(b"GET /bench/1m.bin HTTP/1.1\r\nHost: soak\r\n\r\n")
        s.recv(8192)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        record("left")


def worker(seed):
    rnd = random.Random(seed)
    per = a.workers / a.rate
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    nxt = time.monotonic()
    while time.monotonic() < stop:
        try:
            one(conn, rnd)
        except Exception as e:  # connection-level failure: count it, reconnect
            record("conn", f"conn:{type(e).__name__}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        nxt += per
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()
    conn.close()


def proc():
    st = {}
    with open(f"/proc/{a.pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    rss = int(st["VmRSS"].split()[0]) / 1024
    return rss, len(os.listdir(f"/proc/{a.pid}/fd")), int(st["Threads"])


def server_5xx():
    try:
        c = http.client.HTTPConnection("127.0.0.1", a.ops_port, timeout=10)
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
        n = 0.0
        for line in body.splitlines():
            if line.startswith("kura_requests_seconds_count{") and 'status="5' in line:
                n += float(line.rsplit(" ", 1)[1])
        return int(n), len(body)
    except Exception:
        return -1, -1


threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.workers)]
t0 = time.monotonic()
for t in threads:
    t.start()
print(f"{'t s':>5} {'RSS MiB':>8} {'fds':>5} {'threads':>7} {'requests':>9} {'req/s':>6} {'errors':>6} {'kura 5xx':>8} {'/metrics B':>10}")
samples = []
last = 0; last_t = 0.0
while time.monotonic() < stop:
    time.sleep(max(0.0, min(10.0, stop - time.monotonic())))
    el = time.monotonic() - t0
    rss, fds, thr = proc()
    with lock:
        total = sum(done.values()); errs = sum(errors.values())
    fivexx, msize = server_5xx()
    samples.append((el, rss))
    print(f"{el:5.0f} {rss:8.1f} {fds:5d} {thr:7d} {total:9d} {(total - last) / max(1e-3, el - last_t):6.1f} {errs:6d} {fivexx:8d} {msize:10d}", flush=True)
    last = total; last_t = el
for t in threads:
    t.join(timeout=40)
print("requests by kind:", dict(done))
print("errors by kind:", dict(errors) or "none")
after = [(t, r) for t, r in samples if t >= 60]
if len(after) >= 2:
    (t1, r1), (t2, r2) = after[0], after[-1]
    print(f"RSS {samples[0][1]:.1f} MiB at {samples[0][0]:.0f} s, {r1:.1f} MiB at {t1:.0f} s, {r2:.1f} MiB at {t2:.0f} s: "
          f"{(r2 - r1) / ((t2 - t1) / 60):+.1f} MiB/min after the first minute")
