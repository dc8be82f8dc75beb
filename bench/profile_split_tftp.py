#!/usr/bin/env python3
"""Groups async-profiler's collapsed stacks of kura tftp into the parts of a lock-step block, as a
Markdown table: the DATA send, the ACK receive, the event loop's wait and wake-ups, file reads,
buffers, kura's transfer logic, Netty's pipeline, the JIT compiler and GC.

Usage: profile_split_tftp.py A.collapsed [B.collapsed ...]   (one column per file)

Each line of a collapsed file is "frame;frame;...;frame count", root first. Whole-thread parts (JIT
compiler, GC, kura-io's ring threads, request set-up on virtual threads) are recognised by any frame
of the stack; the others by the frame nearest the leaf that matches one.
"""
import os
import sys

THREADS = [
    ("JIT compiler", ("CompileBroker",)),
    ("GC", ("GenCollectedHeap", "SerialHeap", "DefNewGeneration", "TenuredGeneration", "VM_GenCollect",
            "SafepointSynchronize")),
    ("file reads on kura-io's ring thread", ("Ring$RingThread",)),
    ("request set-up (virtual threads: parse, open, bind)", ("ForkJoinWorkerThread",)),
]
LEAF = [
    ("file reads on the event loop (page-cache copy)", ("readIfCached", "readNow", "FileBlockReader",
                                                        "IoFileObject")),
    ("waking the event loop from another thread (eventfd write)", ("__GI_write", "eventfd_write")),
    ("DATA send (sendto/sendmmsg, incl. loopback delivery to the client)", ("sendto", "sendmmsg",
                                                                            "sendToAddress", "__sys_send")),
    ("ACK receive (recvmsg)", ("recvmsg", "recvFrom", "__sys_recvmsg")),
    ("event loop wait and wake-up (epoll_wait)", ("epoll_pwait", "epollWait", "epoll_wait")),
    ("buffers (pool, recycler, reference counts, leak sampling)", (
        "ByteBufAllocator", "PoolArena", "PoolThreadCache", "PooledByteBuf", "AdaptivePooling", "Recycler",
        "RefCnt", "ReferenceCountUtil", "AbstractReferenceCountedByteBuf", "ResourceLeakDetector")),
    ("kura transfer logic (ReadTransfer, Transfer, timers)", ("dev/kura/tftp/",)),
    ("Netty pipeline and event loop", ("io/netty/",)),
]
OTHER = "other (JVM, kernel, unattributed)"


def classify(frames):
    for name, keys in THREADS:
        if any(k in f for f in frames for k in keys):
            return name
    for f in reversed(frames):
        for name, keys in LEAF:
            if any(k in f for k in keys):
                return name
    return OTHER


def split(path):
    totals, n = {}, 0
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            c = int(count)
            cat = classify(stack.split(";"))
            totals[cat] = totals.get(cat, 0) + c
            n += c
    return totals, n


def main():
    files = sys.argv[1:]
    if not files:
        sys.exit("usage: profile_split_tftp.py A.collapsed [B.collapsed ...]")
    results = [split(p) for p in files]
    names = [os.path.basename(os.path.dirname(os.path.abspath(p))) + "/" + os.path.basename(p) for p in files]
    order = [c for c, _ in THREADS] + [c for c, _ in LEAF] + [OTHER]
    print("| part of a lock-step block | " + " | ".join(f"{n} (% of CPU samples)" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for cat in order:
        if all(t.get(cat, 0) == 0 for t, _ in results):
            continue
        print(f"| {cat} | " + " | ".join(f"{100.0 * t.get(cat, 0) / max(n, 1):.1f}" for t, n in results) + " |")
    print("| samples | " + " | ".join(str(n) for _, n in results) + " |")


if __name__ == "__main__":
    main()
