#!/usr/bin/env python3
"""Groups async-profiler's collapsed stacks into the parts of kura's hit path, as a Markdown table.

Usage: profile_split.py A.collapsed [B.collapsed ...]   (one column per file, named after it)

Each line of a collapsed file is "frame;frame;...;frame count", root first. A stack belongs to the
category of the frame nearest its leaf that matches one (so Netty's encoder called from kura's
handler counts as HTTP encoding, and a memcpy under MemoryEntry.read as a memory-tier copy); stacks
of the JVM's own threads (GC, JIT compiler) are recognised by their root frames first.
"""
import os
import sys

# Whole-thread categories, matched anywhere in the stack before the leaf-first scan.
THREADS = [
    ("GC", ("G1", "GCTaskThread", "ConcurrentGCThread", "ZDriver", "ZWorker", "WorkerThread::run",
            "GangWorker", "SafepointSynchronize", "VM_G1", "ParallelCleaning")),
    ("JIT compiler", ("CompileBroker", "C2Compiler", "C1Compiler", "Compile::")),
]
# Leaf-first categories: the first frame (from the leaf) that contains one of the strings decides.
LEAF = [
    ("CRC verification", ("CRC32C", "crc32c", "Crc32c", "updateBytes")),
    ("memory-tier copies", ("MemoryEntry.read", "MemoryTier")),
    ("disk reads", ("DiskHandle", "CheckedFileIo", "FillReader", "dev/kura/io/", "FileChannelImpl", "pread",
                    "io_uring_enter")),
    ("HTTP encoding", ("HttpObjectEncoder", "HttpResponseEncoder", "HttpHeadersEncoder", "encodeHeaders",
                       "HttpUtil", "DateFormatter", "HttpDates", "decorate")),
    ("HTTP decoding", ("HttpObjectDecoder", "HttpRequestDecoder", "HttpServerCodec", "QueryStringDecoder")),
    ("locks", ("LockSupport.park", "Unsafe.park", "ObjectMonitor", "ObjectSynchronizer", "ReentrantLock",
               "futex", "pthread_mutex", "pthread_cond")),
    ("Netty write/flush", ("flush0", "doWrite", "writev", "sendmsg", "tcp_", "ChannelOutboundBuffer",
                           "IoUringIoHandler", "IoUringSocket", "EpollSocket", "AbstractChannel$AbstractUnsafe",
                           "__sys_send", "do_writev", "sock_write", "skb_", "copy_user", "submitAndRun", "io_submit")),
    ("buffer allocation", ("ByteBufAllocator", "PoolArena", "AdaptivePoolingAllocator", "PooledByteBuf",
                           "UnpooledDirectByteBuf", "allocateDirect")),
    ("event loop (wakeups, tasks, reads of requests)", ("SingleThreadEventExecutor", "SingleThreadIoEventLoop",
                                                        "IoUringIoHandler", "EpollIoHandler", "epoll_wait",
                                                        "io/netty/channel/")),
    ("kura request handling (routing, planning, lookup)", ("dev/kura/",)),
]


OTHER = "other (JVM, kernel, unattributed)"


def classify(frames, threads=None, leaf=None):
    """The part of one stack (root first): a whole-thread part matched by any frame, else the leaf-first match."""
    for name, keys in (THREADS if threads is None else threads):
        if any(k in f for f in frames for k in keys):
            return name
    for f in reversed(frames):
        for name, keys in (LEAF if leaf is None else leaf):
            if any(k in f for k in keys):
                return name
    return OTHER


def split(path, threads=None, leaf=None):
    """({part: samples}, total samples) of one collapsed file."""
    totals, n = {}, 0
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            c = int(count)
            cat = classify(stack.split(";"), threads, leaf)
            totals[cat] = totals.get(cat, 0) + c
            n += c
    return totals, n


def table(files, title, threads=None, leaf=None, name=lambda p: os.path.basename(p).rsplit(".", 1)[0]):
    """Prints the Markdown table: one row per part that has samples, one column per file."""
    threads = THREADS if threads is None else threads
    leaf = LEAF if leaf is None else leaf
    results = [split(p, threads, leaf) for p in files]
    names = [name(p) for p in files]
    order = [c for c, _ in threads] + [c for c, _ in leaf] + [OTHER]
    print(f"| {title} | " + " | ".join(f"{n} (% of CPU samples)" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for cat in order:
        if all(t.get(cat, 0) == 0 for t, _ in results):
            continue
        print(f"| {cat} | " + " | ".join(f"{100.0 * t.get(cat, 0) / n:.1f}" if n else "-" for t, n in results) + " |")
    print("| samples | " + " | ".join(str(n) for _, n in results) + " |")


def main():
    files = sys.argv[1:]
    if not files:
        sys.exit("usage: profile_split.py A.collapsed [B.collapsed ...]")
    table(files, "part of the hit path")


if __name__ == "__main__":
    main()
