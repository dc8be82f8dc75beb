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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import profile_split  # noqa: E402  (the grouping and the table)

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


def main():
    files = sys.argv[1:]
    if not files:
        sys.exit("usage: profile_split_tftp.py A.collapsed [B.collapsed ...]")
    # the grouping and the table are profile_split.py's; only the parts differ
    profile_split.table(files, "part of a lock-step block", THREADS, LEAF,
                        name=lambda p: os.path.basename(os.path.dirname(os.path.abspath(p))) + "/" + os.path.basename(p))


if __name__ == "__main__":
    main()
