package dev.kura.io.internal.uring;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import dev.kura.io.Errno;
import dev.kura.io.IoException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One io_uring instance and the platform thread that owns it.
 *
 * <h2>Design</h2>
 * The kernel shares three memory areas with us ({@code io_uring_setup(2)}): the submission queue
 * ring (head, tail, the index array), the completion queue ring (head, tail, the CQEs) and the SQE
 * array. Only this ring's thread ever writes SQEs, moves the SQ tail or the CQ head, so those need
 * no locks; the kernel moves the SQ head and the CQ tail, which we read with acquire ordering, and
 * we publish our tail and head with release ordering (the barriers liburing's
 * {@code io_uring_smp_store_release}/{@code io_uring_smp_load_acquire} stand for).
 *
 * <p>Submitters, platform or virtual threads, never touch the rings: they take an admission permit
 * (parking while {@code queueDepth} operations are already admitted: the back-pressure of a full
 * queue), put the {@link Op} on a lock-free queue, and wake the ring thread only if it is asleep.
 * The ring thread moves queued ops into SQEs in batches, submits them with the same
 * {@code io_uring_enter(2)} that waits for completions, and completes each op's future from its
 * CQE; a virtual thread waiting on that future is unparked by the completion itself.
 *
 * <h2>Sleeping without spinning, waking without losing a wake-up</h2>
 * An idle ring thread blocks in {@code io_uring_enter(GETEVENTS, min_complete=1)}. To be woken by
 * a submitter it always keeps a READ of an eventfd in flight: a submitter that sees
 * {@link #state} {@code == SLEEPING} and wins the CAS to {@code AWAKE} writes the eventfd, the READ
 * completes and the enter returns. The ring thread publishes {@code SLEEPING} and then re-checks
 * the queue; a submitter publishes its op and then reads the state. Both are sequentially
 * consistent, so either the ring thread sees the op or the submitter sees {@code SLEEPING}
 * (Dekker's handshake). A busy ring thread is never woken: it finds new ops on its next turn.
 *
 * <h2>Memory safety</h2>
 * An op's buffers are released only when its CQE has been reaped. Stopping the ring cancels every
 * op in flight with {@code IORING_OP_ASYNC_CANCEL} and then waits for all their CQEs (the cancelled
 * ones arrive with -ECANCELED, the ones already running complete normally); only then does the
 * ring thread itself unmap the rings, unregister the fixed buffers and close the ring, so no other
 * thread can touch ring memory after it is gone. Submitters that might still write the eventfd are
 * counted ({@link #wakers}) and waited for before it is closed, so a recycled descriptor number is
 * never written to.
 *
 * <p>Thread-safety: {@link #enqueue}, {@link #acquirePermit} and the stats are safe from any
 * thread; everything else runs on the ring thread only.
 */
@SuppressWarnings("restricted") // native access is the point of this backend; it needs --enable-native-access
final class Ring {
    private static final System.Logger LOG = System.getLogger("kura.io");
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle STATE;
    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Ring.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final int AWAKE = 0, SLEEPING = 1, TERMINATED = 2;
    /** user_data of the eventfd READ, and the tag of ASYNC_CANCEL SQEs (target in the low bits). */
    private static final long WAKE_TAG = -1L;
    private static final long CANCEL_TAG = 1L << 62;
    /** One 8-byte counter value of 1, written to wake a ring; read-only after set-up. */
    private static final MemorySegment ONE = Arena.global().allocateFrom(ValueLayout.JAVA_LONG, 1L);

    final int index;
    private final BufferPool pool;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment capture;
    private final int ringFd;
    private final int eventFd;
    private final MemorySegment wakeBuf;
    final int setupFlags;
    final int features;
    final int sqEntries;
    final int cqEntries;
    private final boolean sqPoll;

    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final long sqRingBytes, cqRingBytes, sqesBytes;
    private final long sqHeadOff, sqTailOff, sqFlagsOff;
    private final long cqHeadOff, cqTailOff, cqesOff;
    private final int sqMask, cqMask;

    private final @Nullable MemorySegment fixedRegion;
    private final int fixedSize;
    /** Free fixed-buffer indexes, a stack: {@code fixedFree[0 .. fixedTop)}; its own monitor guards it. */
    @GuardedBy("fixedFree")
    private final int[] fixedFree;
    @GuardedBy("fixedFree")
    private int fixedTop;
    private final boolean filesRegistered;

    private final Semaphore permits;
    private final int queueDepth;
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    @SuppressWarnings("unused") // accessed through STATE
    private volatile int state;
    private final AtomicInteger wakers = new AtomicInteger();
    private volatile boolean stopRequested;
    private volatile int cancelRequests;
    private volatile boolean terminated;
    final CompletableFuture<Void> stopped = new CompletableFuture<>();
    final RingThread thread;

    // ---- ring-thread state ----
    private final Op[] slots;
    private final int[] freeSlots;
    private int freeTop;
    private int userInFlight;
    private int cancelsInFlight;
    private boolean wakeArmed;
    private int sqTail;
    private int cqHead;
    private int cancelsSeen;
    private final int maxInFlight;

    // ---- statistics, written by the ring thread only ----
    private volatile long enters;
    private volatile long sqesSubmitted;
    private volatile long completions;
    private volatile int largestSubmit;
    private volatile long wakeups;
    private volatile long fixedBufferOps;
    private volatile long fixedFileOps;
    private volatile int mostInFlight;

    /** The ring thread: a platform thread, so blocking in io_uring_enter pins nothing. */
    static final class RingThread extends Thread {
        final Ring ring;

        RingThread(Ring ring, String name) {
            super(null, null, name, 0, false);
            this.ring = ring;
            setDaemon(true);
        }

        @Override
        public void run() {
            ring.run();
        }
    }

    /**
     * Sets up a ring ({@code io_uring_setup(2)}), maps it, registers the fixed buffers and a
     * sparse registered-file table, and starts its thread.
     *
     * @throws IoException with the errno of the step that failed
     */
    Ring(int index, String name, int queueDepth, boolean sqPoll, int sqPollCpu, int fixedBuffers, int fixedBufferSize,
         int registeredFiles, BufferPool pool) throws IoException {
        this.index = index;
        this.pool = pool;
        this.queueDepth = queueDepth;
        this.sqPoll = sqPoll;
        this.capture = Native.newCapture(arena);
        boolean ok = false;
        int rfd = -1, efd = -1;
        long sqAddr = 0, cqAddr = 0, sqesAddr = 0;
        long sqBytes = 0, cqBytes = 0, sqeBytes = 0;
        boolean single = false;
        MemorySegment fixed = null;
        try {
            MemorySegment p = arena.allocate(Uapi.PARAMS_SIZE, 8);
            int base = Uapi.IORING_SETUP_CQSIZE | Uapi.IORING_SETUP_CLAMP;
            if (sqPoll) {
                base |= Uapi.IORING_SETUP_SQPOLL;
                if (sqPollCpu >= 0) {
                    base |= Uapi.IORING_SETUP_SQ_AFF;
                }
            }
            int optional = Uapi.IORING_SETUP_SUBMIT_ALL | Uapi.IORING_SETUP_COOP_TASKRUN;
            int cqWanted = Math.max(8, 2 * Integer.highestOneBit(Math.max(1, queueDepth - 1) << 1));
            int flags = base | optional;
            long r;
            while (true) {
                p.fill((byte) 0);
                p.set(ValueLayout.JAVA_INT, Uapi.P_FLAGS, flags);
                p.set(ValueLayout.JAVA_INT, Uapi.P_CQ_ENTRIES, cqWanted);
                if (sqPoll) {
                    p.set(ValueLayout.JAVA_INT, Uapi.P_SQ_THREAD_IDLE, 50);
                    p.set(ValueLayout.JAVA_INT, Uapi.P_SQ_THREAD_CPU, Math.max(0, sqPollCpu));
                }
                r = Native.syscall(capture, Native.SYS_IO_URING_SETUP, queueDepth, p.address(), 0, 0, 0, 0);
                if (r < 0 && Native.errno(capture) == Errno.EINVAL.value() && flags != base) {
                    flags = base; // an older kernel: run without the optional flags
                    continue;
                }
                break;
            }
            if (r < 0) {
                int e = Native.errno(capture);
                Errno en = Errno.of(e);
                String why = en == Errno.EPERM || en == Errno.ENOMEM || en == Errno.ENOSYS
                        ? Probe.explain(e) : IoException.strerror(en);
                throw new IoException(e, null, "io_uring_setup", why + " (" + queueDepth + " entries, flags 0x"
                        + Integer.toHexString(flags) + (sqPoll ? ", SQPOLL cpu " + sqPollCpu : "") + ")", null);
            }
            rfd = (int) r;
            this.setupFlags = flags;
            this.features = p.get(ValueLayout.JAVA_INT, Uapi.P_FEATURES);
            this.sqEntries = p.get(ValueLayout.JAVA_INT, Uapi.P_SQ_ENTRIES);
            this.cqEntries = p.get(ValueLayout.JAVA_INT, Uapi.P_CQ_ENTRIES);
            int sqOff = Uapi.P_SQ_OFF, cqOff = Uapi.P_CQ_OFF;
            int sqArray = p.get(ValueLayout.JAVA_INT, sqOff + Uapi.SQO_ARRAY);
            int cqes = p.get(ValueLayout.JAVA_INT, cqOff + Uapi.CQO_CQES);
            sqBytes = sqArray + 4L * sqEntries;
            cqBytes = cqes + (long) Uapi.CQE_SIZE * cqEntries;
            single = (features & Uapi.IORING_FEAT_SINGLE_MMAP) != 0;
            if (single) {
                sqBytes = cqBytes = Math.max(sqBytes, cqBytes);
            }
            sqAddr = map(rfd, sqBytes, Uapi.IORING_OFF_SQ_RING, "SQ ring");
            cqAddr = single ? sqAddr : map(rfd, cqBytes, Uapi.IORING_OFF_CQ_RING, "CQ ring");
            sqeBytes = (long) Uapi.SQE_SIZE * sqEntries;
            sqesAddr = map(rfd, sqeBytes, Uapi.IORING_OFF_SQES, "SQE array");
            this.sqRing = MemorySegment.ofAddress(sqAddr).reinterpret(sqBytes);
            this.cqRing = MemorySegment.ofAddress(cqAddr).reinterpret(cqBytes);
            this.sqes = MemorySegment.ofAddress(sqesAddr).reinterpret(sqeBytes);
            this.sqHeadOff = sqRingInt(p, sqOff + Uapi.SQO_HEAD);
            this.sqTailOff = sqRingInt(p, sqOff + Uapi.SQO_TAIL);
            this.sqFlagsOff = sqRingInt(p, sqOff + Uapi.SQO_FLAGS);
            this.sqMask = sqRing.get(ValueLayout.JAVA_INT, p.get(ValueLayout.JAVA_INT, sqOff + Uapi.SQO_RING_MASK));
            this.cqHeadOff = sqRingInt(p, cqOff + Uapi.CQO_HEAD);
            this.cqTailOff = sqRingInt(p, cqOff + Uapi.CQO_TAIL);
            this.cqesOff = cqes;
            this.cqMask = cqRing.get(ValueLayout.JAVA_INT, p.get(ValueLayout.JAVA_INT, cqOff + Uapi.CQO_RING_MASK));
            // The SQ index array maps ring position i to SQE i once and for all: SQE slot = tail & mask.
            for (int i = 0; i < sqEntries; i++) {
                sqRing.set(ValueLayout.JAVA_INT, sqArray + 4L * i, i);
            }
            this.sqTail = (int) INT.getAcquire(sqRing, sqTailOff);
            this.cqHead = (int) INT.getAcquire(cqRing, cqHeadOff);

            // Fixed buffers: one aligned region cut into equal buffers, registered as an iovec array.
            if (fixedBuffers > 0) {
                long total = (long) fixedBuffers * fixedBufferSize;
                long a = Native.alignedAlloc(4096, total);
                if (a == 0) {
                    throw new IoException(Errno.ENOMEM, null, "io_uring_register");
                }
                fixed = MemorySegment.ofAddress(a).reinterpret(total);
                MemorySegment iov = arena.allocate(16L * fixedBuffers, 8);
                for (int i = 0; i < fixedBuffers; i++) {
                    iov.set(ValueLayout.JAVA_LONG, 16L * i, a + (long) i * fixedBufferSize);
                    iov.set(ValueLayout.JAVA_LONG, 16L * i + 8, fixedBufferSize);
                }
                register(rfd, Uapi.IORING_REGISTER_BUFFERS, iov.address(), fixedBuffers, "IORING_REGISTER_BUFFERS");
            }
            this.fixedRegion = fixed;
            this.fixedSize = fixedBufferSize;
            this.fixedFree = new int[fixedBuffers];
            for (int i = 0; i < fixedBuffers; i++) {
                fixedFree[i] = fixedBuffers - 1 - i;
            }
            this.fixedTop = fixedBuffers;
            if (registeredFiles > 0) {
                MemorySegment fds = arena.allocate(4L * registeredFiles, 4);
                fds.fill((byte) 0xff); // -1: an empty slot of a sparse table
                register(rfd, Uapi.IORING_REGISTER_FILES, fds.address(), registeredFiles, "IORING_REGISTER_FILES");
            }
            this.filesRegistered = registeredFiles > 0;

            efd = Native.eventfd(capture, 0, Native.EFD_CLOEXEC);
            if (efd < 0) {
                throw new IoException(Native.errno(capture), null, "eventfd", null, null);
            }
            this.ringFd = rfd;
            this.eventFd = efd;
            this.wakeBuf = arena.allocate(8, 8);
            this.maxInFlight = cqEntries - 1;
            this.slots = new Op[cqEntries];
            this.freeSlots = new int[cqEntries];
            for (int i = 0; i < cqEntries; i++) {
                freeSlots[i] = cqEntries - 1 - i;
            }
            this.freeTop = cqEntries;
            this.permits = new Semaphore(queueDepth);
            this.thread = new RingThread(this, name);
            ok = true;
        } finally {
            if (!ok) {
                if (sqesAddr != 0) {
                    Native.munmap(capture, sqesAddr, sqeBytes);
                }
                if (cqAddr != 0 && !single) {
                    Native.munmap(capture, cqAddr, cqBytes);
                }
                if (sqAddr != 0) {
                    Native.munmap(capture, sqAddr, sqBytes);
                }
                if (rfd >= 0) {
                    Native.close(capture, rfd);
                }
                if (efd >= 0) {
                    Native.close(capture, efd);
                }
                if (fixed != null) {
                    Native.free(fixed.address());
                }
                arena.close();
            }
        }
        this.sqRingBytes = sqBytes;
        this.cqRingBytes = single ? 0 : cqBytes;
        this.sqesBytes = sqeBytes;
        thread.start();
    }

    private long sqRingInt(MemorySegment params, int at) {
        return Integer.toUnsignedLong(params.get(ValueLayout.JAVA_INT, at));
    }

    private long map(int fd, long bytes, long offset, String what) throws IoException {
        long a = Native.mmap(capture, bytes, Native.PROT_READ | Native.PROT_WRITE,
                Native.MAP_SHARED | Native.MAP_POPULATE, fd, offset);
        if (a == -1L) {
            int e = Native.errno(capture);
            throw new IoException(e, null, "mmap", IoException.strerror(Errno.of(e)) + " (mmap of the " + what + ")", null);
        }
        return a;
    }

    private void register(int fd, int opcode, long arg, int nr, String what) throws IoException {
        long r = Native.syscall(capture, Native.SYS_IO_URING_REGISTER, fd, opcode, arg, nr, 0, 0);
        if (r < 0) {
            int e = Native.errno(capture);
            String hint = Errno.of(e) == Errno.ENOMEM
                    ? " (" + what + "): locked-memory limit too low for the fixed buffers (ulimit -l, RLIMIT_MEMLOCK)"
                    : " (" + what + ")";
            throw new IoException(e, null, "io_uring_register", IoException.strerror(Errno.of(e)) + hint, null);
        }
    }

    /**
     * Puts {@code fd} into slot {@code slot} of this ring's registered-file table (-1 empties it),
     * with {@code IORING_REGISTER_FILES_UPDATE}. Any thread; the table is the kernel's.
     */
    void updateRegisteredFile(int slot, int fd) throws IoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cap = Native.newCapture(a);
            MemorySegment fds = a.allocateFrom(ValueLayout.JAVA_INT, fd);
            MemorySegment upd = a.allocate(16, 8);
            upd.set(ValueLayout.JAVA_INT, 0, slot);
            upd.set(ValueLayout.JAVA_LONG, 8, fds.address());
            long r = Native.syscall(cap, Native.SYS_IO_URING_REGISTER, ringFd, Uapi.IORING_REGISTER_FILES_UPDATE,
                    upd.address(), 1, 0, 0);
            if (r < 0) {
                int e = Native.errno(cap);
                throw new IoException(e, null, "io_uring_register",
                        IoException.strerror(Errno.of(e)) + " (IORING_REGISTER_FILES_UPDATE slot " + slot + ")", null);
            }
        }
    }

    // ---- submitter side -----------------------------------------------------------------------

    /** True when the calling thread is this ring's own thread. */
    boolean onRingThread() {
        return Thread.currentThread() == thread;
    }

    /**
     * Takes an admission permit, parking while {@code queueDepth} operations are admitted. A ring
     * thread (of any ring) never waits: it must stay free to reap the CQEs that release permits,
     * so ops it submits from completion callbacks are admitted without one.
     *
     * @return this ring if a permit was taken, null otherwise
     */
    @Nullable Ring acquirePermit(int n) {
        if (Thread.currentThread() instanceof RingThread) {
            return null;
        }
        permits.acquireUninterruptibly(n);
        return this;
    }

    void releasePermit() {
        permits.release();
    }

    /** A free fixed buffer's index, or -1 when all are in use (the caller then uses a bounce buffer). */
    int acquireFixed(long size) {
        if (size > fixedSize) {
            return -1;
        }
        synchronized (fixedFree) {
            return fixedTop == 0 ? -1 : fixedFree[--fixedTop];
        }
    }

    MemorySegment fixedBuffer(int i) {
        return Objects.requireNonNull(fixedRegion, "no fixed buffers").asSlice((long) i * fixedSize, fixedSize);
    }

    void releaseFixed(int i) {
        synchronized (fixedFree) {
            fixedFree[fixedTop++] = i;
        }
    }

    boolean filesRegistered() {
        return filesRegistered;
    }

    /**
     * Queues an op (or, for an {@link Op}{@code []}, a batch that goes into one io_uring_enter)
     * and wakes the ring thread if it sleeps. When the ring has stopped the op fails with EBADF.
     */
    void enqueue(Object opOrBatch) {
        if (stopRequested) {
            failOne(opOrBatch, Errno.EBADF.value());
            return;
        }
        queue.offer(opOrBatch);
        if (terminated) {
            failQueued(Errno.EBADF.value());
            return;
        }
        wake();
    }

    private void wake() {
        if ((int) STATE.getVolatile(this) == SLEEPING) {
            wakers.incrementAndGet();
            try {
                if (STATE.compareAndSet(this, SLEEPING, AWAKE)) {
                    Native.write(eventFd, ONE.address(), 8);
                }
            } finally {
                wakers.decrementAndGet();
            }
        }
    }

    /** True once {@link #stop()} has been called. */
    boolean stopping() {
        return stopRequested;
    }

    /** Asks the ring thread to cancel every op now in the kernel; returns at once. */
    void cancelInFlight() {
        cancelRequests++;
        forceWake();
    }

    private void forceWake() {
        wakers.incrementAndGet();
        try {
            if ((int) STATE.getVolatile(this) != TERMINATED) {
                STATE.compareAndSet(this, SLEEPING, AWAKE);
                Native.write(eventFd, ONE.address(), 8);
            }
        } finally {
            wakers.decrementAndGet();
        }
    }

    /**
     * Stops the ring: ops still queued fail with ECANCELED, ops in the kernel are cancelled and
     * their CQEs awaited, then the ring memory is released by the ring thread. Waits for all that.
     */
    void stop() {
        if (!stopRequested) {
            stopRequested = true;
            forceWake();
        }
        if (Thread.currentThread() != thread) {
            stopped.join();
        }
    }

    private void failQueued(int errno) {
        for (Object o; (o = queue.poll()) != null; ) {
            failOne(o, errno);
        }
    }

    private void failOne(Object o, int errno) {
        Op[] ops = o instanceof Op op ? new Op[] {op} : (Op[]) o;
        for (Op op : ops) {
            op.complete(this, -errno);
        }
    }

    // ---- ring thread --------------------------------------------------------------------------

    private void run() {
        @Nullable Throwable fatal = null;
        try {
            loop();
        } catch (Throwable t) {
            fatal = t;
            LOG.log(System.Logger.Level.ERROR, "io_uring ring " + index + " failed; its operations fail with EIO", t);
        } finally {
            terminate(fatal);
        }
    }

    private void loop() {
        boolean cancelling = false;
        while (true) {
            boolean blocked = false;
            reap();
            if (stopRequested && !cancelling) {
                cancelling = true;
                failQueued(Errno.ECANCELED.value());
                cancelAll(true);
            }
            if (cancelling) {
                failQueued(Errno.ECANCELED.value());
                if (userInFlight == 0 && cancelsInFlight == 0 && !wakeArmed) {
                    return;
                }
            } else {
                int c = cancelRequests;
                if (c != cancelsSeen) {
                    cancelsSeen = c;
                    cancelAll(false);
                }
                if (!wakeArmed) {
                    armWake();
                }
                blocked = fill();
            }
            STATE.setVolatile(this, SLEEPING);
            boolean more = cqReady() || (stopRequested && !cancelling) || cancelRequests != cancelsSeen
                    || (!cancelling && !blocked && !queue.isEmpty());
            if (more) {
                STATE.setVolatile(this, AWAKE);
                submit(false);
                continue;
            }
            submit(true);
            STATE.setVolatile(this, AWAKE);
        }
    }

    private int pendingSqes() {
        return sqTail - (int) INT.getAcquire(sqRing, sqHeadOff);
    }

    private int sqFree() {
        return sqEntries - pendingSqes();
    }

    private boolean cqReady() {
        return (int) INT.getAcquire(cqRing, cqTailOff) != cqHead;
    }

    /**
     * Hands pending SQEs to the kernel and, with {@code wait}, blocks until at least one CQE is
     * there. With SQPOLL the kernel thread takes the SQEs itself and needs a wake-up only when it
     * has gone idle ({@code IORING_SQ_NEED_WAKEUP}).
     */
    private void submit(boolean wait) {
        int toSubmit = pendingSqes();
        int flags = wait ? Uapi.IORING_ENTER_GETEVENTS : 0;
        if (sqPoll) {
            VarHandle.fullFence(); // the tail store must be visible before we read the kernel's flag
            if (toSubmit > 0 && ((int) INT.getVolatile(sqRing, sqFlagsOff) & Uapi.IORING_SQ_NEED_WAKEUP) != 0) {
                flags |= Uapi.IORING_ENTER_SQ_WAKEUP;
            }
            if (flags == 0) {
                return;
            }
            toSubmit = 0;
        } else if (toSubmit == 0 && !wait) {
            return;
        }
        long r = Native.syscall(capture, Native.SYS_IO_URING_ENTER, ringFd, toSubmit, wait ? 1 : 0, flags, 0, 0);
        enters++;
        if (r < 0) {
            int e = Native.errno(capture);
            if (e == Errno.EINTR.value() || e == Errno.EAGAIN.value() || e == Errno.EBUSY.value()) {
                return; // completions must be reaped first; the loop does that and retries
            }
            throw new IllegalStateException("io_uring_enter failed: " + Errno.of(e) + " (" + e + ")");
        }
        if (r > 0) {
            sqesSubmitted += r;
            if (r > largestSubmit) {
                largestSubmit = (int) r;
            }
        }
    }

    /** Makes room for {@code n} SQEs, submitting (and with SQPOLL waiting for the kernel) if needed. */
    private boolean ensureSq(int n) {
        if (sqFree() >= n) {
            return true;
        }
        if (sqPoll) {
            VarHandle.fullFence();
            int flags = Uapi.IORING_ENTER_SQ_WAIT;
            if (((int) INT.getVolatile(sqRing, sqFlagsOff) & Uapi.IORING_SQ_NEED_WAKEUP) != 0) {
                flags |= Uapi.IORING_ENTER_SQ_WAKEUP;
            }
            Native.syscall(capture, Native.SYS_IO_URING_ENTER, ringFd, 0, 0, flags, 0, 0);
            enters++;
        } else {
            submit(false);
        }
        return sqFree() >= n;
    }

    private long sqe() {
        long at = (long) (sqTail & sqMask) * Uapi.SQE_SIZE;
        sqTail++;
        return at;
    }

    private void publishTail() {
        INT.setRelease(sqRing, sqTailOff, sqTail);
    }

    private void writeSqe(long at, int opcode, int flags, int fd, long off, long addr, int len, int opFlags,
                          long userData, int bufIndex) {
        MemorySegment s = sqes;
        s.set(ValueLayout.JAVA_LONG, at, (opcode & 0xffL) | (flags & 0xffL) << 8 | (fd & 0xffffffffL) << 32);
        s.set(ValueLayout.JAVA_LONG, at + 8, off);
        s.set(ValueLayout.JAVA_LONG, at + 16, addr);
        s.set(ValueLayout.JAVA_LONG, at + 24, (len & 0xffffffffL) | (opFlags & 0xffffffffL) << 32);
        s.set(ValueLayout.JAVA_LONG, at + 32, userData);
        s.set(ValueLayout.JAVA_LONG, at + 40, bufIndex & 0xffffL);
        s.set(ValueLayout.JAVA_LONG, at + 48, 0L);
        s.set(ValueLayout.JAVA_LONG, at + 56, 0L);
    }

    private void armWake() {
        if (!ensureSq(1)) {
            return;
        }
        writeSqe(sqe(), Uapi.IORING_OP_READ, 0, eventFd, 0, wakeBuf.address(), 8, 0, WAKE_TAG, 0);
        publishTail();
        wakeArmed = true;
    }

    private void put(Op op) {
        int slot = freeSlots[--freeTop];
        slots[slot] = op;
        if (++userInFlight > mostInFlight) {
            mostInFlight = userInFlight;
        }
        if (op.fixedIndex >= 0) {
            fixedBufferOps++;
        }
        if ((op.sqeFlags & Uapi.IOSQE_FIXED_FILE) != 0) {
            fixedFileOps++;
        }
        writeSqe(sqe(), op.opcode, op.sqeFlags, op.fd, op.off, op.addr, op.len, op.opFlags, slot, op.bufIndex);
    }

    /**
     * Moves queued ops into SQEs while the SQ and the in-flight budget have room.
     *
     * @return true when ops are left queued for want of room: only a CQE can make progress then,
     *     so the loop must wait for one rather than go round again
     */
    private boolean fill() {
        boolean any = false;
        boolean blocked = false;
        for (Object head; (head = queue.peek()) != null; ) {
            if (head instanceof Op op) {
                if (userInFlight >= maxInFlight || !ensureSq(1)) {
                    blocked = true;
                    break;
                }
                queue.poll();
                put(op);
            } else {
                Op[] batch = (Op[]) head;
                if (userInFlight + batch.length > maxInFlight && userInFlight > 0) {
                    blocked = true;
                    break;
                }
                if (!ensureSq(Math.min(batch.length, sqEntries))) {
                    blocked = true;
                    break;
                }
                queue.poll();
                for (Op op : batch) {
                    if (!ensureSq(1)) {
                        throw new IllegalStateException("no SQE free for a batch after submitting");
                    }
                    put(op);
                }
            }
            any = true;
            publishTail();
        }
        if (any) {
            publishTail();
        }
        return blocked;
    }

    /** Submits an ASYNC_CANCEL for every user op in the kernel, and for the wake READ when stopping. */
    private void cancelAll(boolean includingWake) {
        List<Long> targets = new ArrayList<>();
        for (int i = 0; i < slots.length; i++) {
            if (slots[i] != null) {
                targets.add((long) i);
            }
        }
        if (includingWake && wakeArmed) {
            targets.add(WAKE_TAG);
        }
        for (long t : targets) {
            while (!ensureSq(1)) {
                reap();
            }
            writeSqe(sqe(), Uapi.IORING_OP_ASYNC_CANCEL, 0, -1, 0, t, 0, 0, CANCEL_TAG | (t & 0xffffffffL), 0);
            publishTail();
            cancelsInFlight++;
        }
    }

    /** Completes the op of every CQE there, then publishes the new CQ head. */
    private int reap() {
        int tail = (int) INT.getAcquire(cqRing, cqTailOff);
        int n = 0;
        while (cqHead != tail) {
            long at = cqesOff + (long) (cqHead & cqMask) * Uapi.CQE_SIZE;
            long userData = cqRing.get(ValueLayout.JAVA_LONG, at);
            int res = cqRing.get(ValueLayout.JAVA_INT, at + 8);
            cqHead++;
            n++;
            if (userData == WAKE_TAG) {
                wakeArmed = false;
                wakeups++;
            } else if ((userData & CANCEL_TAG) != 0) {
                cancelsInFlight--;
            } else {
                int slot = (int) userData;
                Op op = slots[slot];
                slots[slot] = null;
                freeSlots[freeTop++] = slot;
                userInFlight--;
                try {
                    op.complete(this, res);
                } catch (Throwable t) {
                    LOG.log(System.Logger.Level.WARNING, "completion callback failed on io_uring ring " + index, t);
                }
            }
            if (cqHead == tail) {
                // Free the CQ space before callbacks of the next round and look for more.
                INT.setRelease(cqRing, cqHeadOff, cqHead);
                tail = (int) INT.getAcquire(cqRing, cqTailOff);
            }
        }
        if (n > 0) {
            completions += n;
        }
        return n;
    }

    private void terminate(@Nullable Throwable fatal) {
        terminated = true;
        STATE.setVolatile(this, TERMINATED);
        while (wakers.get() != 0) {
            Thread.onSpinWait();
        }
        boolean safe = fatal == null || (userInFlight == 0 && cancelsInFlight == 0);
        if (safe) {
            if (fixedRegion != null) {
                Native.syscall(capture, Native.SYS_IO_URING_REGISTER, ringFd, Uapi.IORING_UNREGISTER_BUFFERS, 0, 0, 0, 0);
            }
            if (filesRegistered) {
                Native.syscall(capture, Native.SYS_IO_URING_REGISTER, ringFd, Uapi.IORING_UNREGISTER_FILES, 0, 0, 0, 0);
            }
            Native.munmap(capture, sqes.address(), sqesBytes);
            if (cqRingBytes != 0) {
                Native.munmap(capture, cqRing.address(), cqRingBytes);
            }
            Native.munmap(capture, sqRing.address(), sqRingBytes);
            Native.close(capture, ringFd);
            if (fixedRegion != null) {
                Native.free(fixedRegion.address());
            }
        } else {
            // Operations may still be in the kernel: closing the ring makes the kernel cancel and
            // reap them, but asynchronously, so their buffers and the fixed region are leaked on
            // purpose rather than freed under the kernel's feet.
            Native.close(capture, ringFd);
            for (Op op : slots) {
                if (op != null) {
                    op.bounce = null;
                    op.future.completeExceptionally(new IoException(Errno.EIO.value(), op.path, op.name,
                            "io_uring ring failed: " + fatal, fatal));
                }
            }
        }
        Native.close(capture, eventFd);
        failQueued(fatal == null ? Errno.EBADF.value() : Errno.EIO.value());
        arena.close();
        stopped.complete(null);
    }

    // ---- statistics ---------------------------------------------------------------------------

    /**
     * Counters of this ring, for tests and {@code kura bench}: io_uring_enter calls, SQEs the
     * kernel took, CQEs reaped, the most SQEs one enter took, eventfd wake-ups, ops on fixed
     * buffers and on registered files, admission permits free now, the most user ops ever in the
     * kernel at once.
     */
    record Stats(long enters, long sqesSubmitted, long completions, int largestSubmit, long wakeups,
                 long fixedBufferOps, long fixedFileOps, int permitsFree, int mostInFlight) {
    }

    Stats stats() {
        return new Stats(enters, sqesSubmitted, completions, largestSubmit, wakeups, fixedBufferOps, fixedFileOps,
                permits.availablePermits(), mostInFlight);
    }

    long threadId() {
        return thread.threadId();
    }
}
