#!/usr/bin/env python3
"""Issue 10's slow-client check for bench/soak.sh: does a 10 KiB/s client slow anyone else down?

1. Alone: a normal client GETs the uncached object large/0.bin; time to first byte and to the end.
2. A slow client starts reading the uncached object large/1.bin at about 10 KiB/s (small receive
   buffer, 1 KiB every 0.1 s); one second later a normal client GETs large/1.bin: its time to first
   byte and to the end, against step 1's (goal: first byte within 2x the unloaded time).
Standard library only. The origin must hold large/0.bin and large/1.bin of the same size (64 MiB).
"""
import argparse
import socket
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--prefix", default="/bench")
a = p.parse_args()


def get(path, rcvbuf=None, pace=None, stop=None):
    """GETs path over a raw socket; returns (seconds to first body byte, seconds to the end, bytes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(120)
    t0 = time.monotonic()
    s.connect(("127.0.0.1", a.port))
    s.sendall(f"GET {a.prefix}/{path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1024 if pace else 65536)
        if not chunk:
            raise RuntimeError(f"{path}: connection closed in the header")
        head += chunk
    first = time.monotonic() - t0
    status = head.split(b"\r\n", 1)[0].decode()
    if " 200 " not in status:
        raise RuntimeError(f"{path}: {status}")
    n = len(head.split(b"\r\n\r\n", 1)[1])
    while not (stop and stop.is_set()):
        chunk = s.recv(1024 if pace else 1 << 20)
        if not chunk:
            break
        n += len(chunk)
        if pace:
            time.sleep(pace)
    s.close()
    return first, time.monotonic() - t0, n


# Warm kura up first (class loading, the first origin connection, JIT), on other objects, so that
# "alone" measures a fill, not a cold JVM.
for _ in range(3):
    for warm in ("4k.bin", "1m.bin"):
        get(warm)
alone = get("large/0.bin")
stop = threading.Event()
slow = {}
t = threading.Thread(target=lambda: slow.update(r=get("large/1.bin", rcvbuf=4096, pace=0.1, stop=stop)), daemon=True)
t.start()
time.sleep(1.0)
loaded = get("large/1.bin")
stop.set()
t.join(timeout=10)
print(f"slow-client check: normal client alone: first byte {alone[0] * 1000:.1f} ms, "
      f"all {alone[2] >> 20} MiB in {alone[1]:.2f} s")
print(f"slow-client check: beside a 10 KiB/s client on the same uncached object: first byte "
      f"{loaded[0] * 1000:.1f} ms, all {loaded[2] >> 20} MiB in {loaded[1]:.2f} s")
print(f"slow-client check: first-byte ratio {loaded[0] / alone[0]:.2f}x, whole-body ratio "
      f"{loaded[1] / alone[1]:.2f}x (goal: first byte <= 2x)")
