#!/usr/bin/env python3
"""A TCP relay in front of the benchmark's S3Proxy that paces each connection like S3 does.

Usage: limited_origin.py LISTEN_PORT UPSTREAM_PORT RATE_BYTES_PER_S

Why not nginx's `limit_rate`: nginx's write filter allows `rate x (elapsed whole seconds + 1)`
bytes, so every response gets its first second's worth (64 MiB at `limit_rate 64m`) unthrottled.
kura's 4 MiB slices, nginx's 1 MiB slices and 32 MiB ranges would then all come at full speed, and
the cold rows would not measure an origin that is limited per connection. This relay paces the
bytes going back to the client with a token bucket per connection (burst 512 KiB, refilled at the
rate; reads of 256 KiB), across keep-alive requests, so every request sees the limit from its first bytes, like an
S3 connection that gives 50-100 MB/s. Requests go to the upstream unpaced. Loopback only.
"""
import asyncio
import sys

CHUNK = 256 * 1024
BURST = 512 * 1024


async def pump(reader, writer, rate=None):
    loop = asyncio.get_running_loop()
    allowed_at = loop.time()
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            if rate:
                now = loop.time()
                if allowed_at > now:
                    await asyncio.sleep(allowed_at - now)
                    now = loop.time()
                # At most BURST bytes of credit build up while a connection is idle.
                allowed_at = max(allowed_at, now - BURST / rate) + len(data) / rate
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    listen, upstream, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

    async def handle(client_r, client_w):
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pump(client_r, up_w), pump(up_r, client_w, rate))

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=1024)
    print(f"limited origin on 127.0.0.1:{listen} -> 127.0.0.1:{upstream}, {rate / (1 << 20):.0f} MiB/s per connection",
          flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
