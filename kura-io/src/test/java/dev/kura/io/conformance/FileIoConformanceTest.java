package dev.kura.io.conformance;

import dev.kura.testing.Requires;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * The one conformance suite every kura-io backend must pass unchanged, in the manner of Netty's
 * socket test suite that runs over every transport. A backend's test is a subclass that supplies
 * only its {@link IoConfig}; nothing here knows which backend runs.
 *
 * <p>It checks the contract written in {@link FileIo}, {@link IoFile}, {@link IoBatch} and
 * {@link IoException} (kura issue 2, sections 2 and 6) against real parts: sparse files past
 * 4 GiB, a real size-capped tmpfs for ENOSPC, a loop-mounted squashfs with a corrupted block for
 * EIO, a child JVM running as user {@code nobody} for EACCES, O_DIRECT on the root filesystem, and
 * for virtual-thread pinning a one-carrier child JVM plus JFR's {@code jdk.VirtualThreadPinned}.
 * The tests that need root or a Debian tool (util-linux, squashfs-tools) fail, they do not skip,
 * when it is missing.
 *
 * <p>Every asynchronous wait here has a deadline, so a backend that loses a completion fails a test
 * instead of hanging the build.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
public abstract class FileIoConformanceTest {
    private static final long WAIT_SECONDS = 60;
    private static final long GiB = 1L << 30;

    /** The configuration of the backend under test. */
    protected abstract IoConfig config();

    @TempDir
    protected Path dir;

    protected FileIo io;
    protected Arena arena;

    @BeforeEach
    @SuppressWarnings("MustBeClosedChecker") // the arena lives for the test; stopBackend() closes it
    void startBackend() throws IoException {
        io = FileIo.create(config());
        arena = Arena.ofShared();
    }

    @AfterEach
    void stopBackend() {
        // Closing the backend first closes its files and waits for their operations, so the
        // arena's memory is no longer in use by any read when it is freed.
        io.close();
        arena.close();
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** The value of {@code f}, failing the test when it is not done in time. */
    protected static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("operation did not complete in " + WAIT_SECONDS + " s", e);
        }
    }

    private static Exception rethrow(Throwable t) {
        if (t instanceof Exception e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new RuntimeException(t);
    }

    /** Asserts that {@code call} throws an IoException with {@code errno} naming {@code path}. */
    protected static IoException expectIo(Errno errno, Path path, Executable call) {
        try {
            call.execute();
        } catch (IoException e) {
            assertThat(e.errno()).as("errno of %s", e).isEqualTo(errno);
            assertThat(e.errnoValue()).isEqualTo(errno.value());
            if (path != null) {
                assertThat(e.path()).as("path of %s", e).isEqualTo(path);
                assertThat(e.getMessage()).startsWith(errno.name()).contains(path.toString());
            }
            return e;
        } catch (Throwable t) {
            throw new AssertionError("expected IoException " + errno + " but got " + t, t);
        }
        throw new AssertionError("expected IoException " + errno + " but nothing was thrown");
    }

    /** Asserts that {@code f} completes exceptionally with an IoException with {@code errno}. */
    protected static IoException expectIo(Errno errno, Path path, CompletableFuture<?> f) {
        return expectIo(errno, path, () -> await(f));
    }

    /** Asserts that nothing is mounted on {@code mountPoint} any more (fixtures clean up after themselves). */
    protected static void assertNotMounted(Path mountPoint) throws java.io.IOException {
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .noneMatch(l -> l.contains(" " + mountPoint + " "));
    }

    protected Path file(String name, long seed, int length) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, Bytes.array(seed, 0, length));
        return p;
    }

    protected MemorySegment segment(long size) {
        return arena.allocate(Math.max(size, 1), 4096).asSlice(0, size);
    }

    // ---- backend ------------------------------------------------------------------------------

    @Test
    void backendReportsWhatRunsAndWhy() {
        assertThat(io.backend()).isNotEqualTo(dev.kura.io.Backend.AUTO);
        if (config().backend() != dev.kura.io.Backend.AUTO) {
            assertThat(io.backend()).isEqualTo(config().backend());
        }
        assertThat(io.info().backend()).isEqualTo(io.backend());
        assertThat(io.info().requested()).isEqualTo(config().backend());
        assertThat(io.info().reason()).isNotBlank();
        assertThat(io.info().kernelRelease()).isNotBlank();
        assertThat(io.info().rings()).isPositive();
    }

    /**
     * {@link IoFile#readIfCached} either declines (-1: the backend cannot tell, or nothing is
     * cached) or reads exactly what {@link IoFile#read} reads there, into one segment or scattered
     * over several; never other bytes.
     */
    @Test
    void readIfCachedDeclinesOrReadsTheSameBytes() throws Exception {
        Path p = file("cached", 11, 50_000);
        try (IoFile f = io.open(p, OpenFlag.READ)) {
            MemorySegment now = segment(30_000);
            int n = f.readIfCached(now, 10_000);
            assertThat(n).isBetween(-1, 30_000);
            if (n > 0) {
                assertThat(now.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(Bytes.array(11, 10_000, n));
            }
            assertThat(f.readIfCached(segment(100), 50_000)).isIn(-1, 0);
            MemorySegment a = segment(7);
            MemorySegment b = segment(20_000);
            long m = f.readIfCached(java.util.List.of(a, b), 3);
            assertThat(m).isBetween(-1L, 20_007L);
            if (m >= 7) {
                assertThat(a.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(Bytes.array(11, 3, 7));
                assertThat(b.asSlice(0, m - 7).toArray(ValueLayout.JAVA_BYTE)).isEqualTo(Bytes.array(11, 10, (int) m - 7));
            }
        }
    }

    // ---- open ---------------------------------------------------------------------------------

    @Test
    void openMissingFileIsEnoent() {
        Path p = dir.resolve("missing");
        expectIo(Errno.ENOENT, p, () -> io.open(p, OpenFlag.READ));
        expectIo(Errno.ENOENT, p, () -> io.open(p, OpenFlag.READ, OpenFlag.WRITE));
        expectIo(Errno.ENOENT, p, io.openAsync(p, OpenFlag.READ));
        assertThat(p).doesNotExist();
    }

    @Test
    void createNewOnExistingFileIsEexistAndLeavesItAlone() throws Throwable {
        Path p = file("exists", 1, 100);
        expectIo(Errno.EEXIST, p, () -> io.open(p, OpenFlag.WRITE, OpenFlag.CREATE_NEW));
        expectIo(Errno.EEXIST, p, io.openAsync(p, OpenFlag.WRITE, OpenFlag.CREATE_NEW));
        assertThat(Files.readAllBytes(p)).isEqualTo(Bytes.array(1, 0, 100));

        Path fresh = dir.resolve("fresh");
        try (IoFile f = io.open(fresh, OpenFlag.WRITE, OpenFlag.CREATE_NEW)) {
            assertThat(f.size()).isZero();
        }
        assertThat(fresh).exists();
    }

    @Test
    void createTruncateAndFlagsAreReported() throws Throwable {
        Path p = dir.resolve("created");
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            assertThat(f.path()).isEqualTo(p);
            assertThat(f.flags()).isEqualTo(Set.of(OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE));
            MemorySegment src = segment(1000);
            Bytes.fill(src, 2, 0);
            f.writeFully(src, 0);
            assertThat(f.size()).isEqualTo(1000);
        }
        // CREATE on an existing file keeps its bytes; TRUNCATE drops them.
        try (IoFile f = await(io.openAsync(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE))) {
            assertThat(f.size()).isEqualTo(1000);
        }
        try (IoFile f = io.open(p, OpenFlag.WRITE, OpenFlag.TRUNCATE)) {
            assertThat(f.size()).isZero();
        }
        assertThat(Files.size(p)).isZero();
    }

    @Test
    void openNeedsReadOrWrite() {
        Path p = dir.resolve("x");
        assertThatThrownBy(() -> io.open(p)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> io.open(p, OpenFlag.CREATE)).isInstanceOf(IllegalArgumentException.class);
        assertThat(p).doesNotExist();
    }

    @Test
    void directoryIsEisdirForWriteAndForRead() throws Throwable {
        Path d = Files.createDirectory(dir.resolve("sub"));
        expectIo(Errno.EISDIR, d, () -> io.open(d, OpenFlag.WRITE));
        expectIo(Errno.EISDIR, d, () -> io.open(d, OpenFlag.READ, OpenFlag.WRITE));
        // open(2) of a directory read-only succeeds; reading it is what fails (read(2): EISDIR).
        try (IoFile f = io.open(d, OpenFlag.READ)) {
            MemorySegment buf = segment(4096);
            expectIo(Errno.EISDIR, d, () -> f.read(buf, 0));
            expectIo(Errno.EISDIR, d, f.readAsync(buf, 0));
            expectIo(Errno.EISDIR, d, () -> f.read(ByteBuffer.allocate(10), 0));
        }
    }

    // ---- reads and writes of all sizes ---------------------------------------------------------

    enum Buf { NATIVE_SEGMENT, HEAP_SEGMENT, DIRECT_BUFFER, HEAP_BUFFER }

    static Stream<Arguments> sizes() {
        List<Arguments> out = new ArrayList<>();
        for (Buf b : Buf.values()) {
            for (boolean async : new boolean[] {false, true}) {
                for (int size : new int[] {0, 1, 511, 4096, 65536, (1 << 20) + 1}) {
                    for (long offset : new long[] {0, 4097 * 3 + 1}) {
                        out.add(Arguments.of(b, async, size, offset));
                    }
                }
            }
        }
        return out.stream();
    }

    private int transfer(IoFile f, boolean write, Object buf, long position, boolean async) throws Throwable {
        return switch (buf) {
            case MemorySegment s -> write
                    ? (async ? await(f.writeAsync(s, position)) : f.write(s, position))
                    : (async ? await(f.readAsync(s, position)) : f.read(s, position));
            case ByteBuffer bb -> write
                    ? (async ? await(f.writeAsync(bb, position)) : f.write(bb, position))
                    : (async ? await(f.readAsync(bb, position)) : f.read(bb, position));
            default -> throw new IllegalArgumentException(String.valueOf(buf));
        };
    }

    private Object newBuffer(Buf kind, int size) {
        return switch (kind) {
            case NATIVE_SEGMENT -> segment(size);
            case HEAP_SEGMENT -> MemorySegment.ofArray(new byte[size]);
            case DIRECT_BUFFER -> ByteBuffer.allocateDirect(size);
            case HEAP_BUFFER -> ByteBuffer.allocate(size);
        };
    }

    private static MemorySegment view(Object buf) {
        return buf instanceof ByteBuffer bb ? MemorySegment.ofBuffer(bb.duplicate().clear()) : (MemorySegment) buf;
    }

    /**
     * Writes {@code size} bytes at {@code offset} with single writes (looping only over short ones,
     * each of which must make progress), reads them back into a fresh buffer of the same kind, and
     * compares every byte; ByteBuffer positions must advance by exactly the bytes transferred.
     */
    @ParameterizedTest(name = "{0} async={1} size={2} offset={3}")
    @MethodSource("sizes")
    void readsAndWritesOfAllSizes(Buf kind, boolean async, int size, long offset) throws Throwable {
        Path p = dir.resolve("data-" + kind + "-" + async + "-" + size + "-" + offset);
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            Object src = newBuffer(kind, size);
            Bytes.fill(view(src), 7, offset);
            long done = 0;
            while (done < size) {
                Object part = src instanceof MemorySegment s ? s.asSlice(done) : src;
                int n = transfer(f, true, part, offset + done, async);
                assertThat(n).as("write at %d", offset + done).isPositive().isLessThanOrEqualTo((int) (size - done));
                done += n;
                if (src instanceof ByteBuffer bb) {
                    assertThat(bb.position()).isEqualTo(done);
                }
            }
            if (size == 0) {
                assertThat(transfer(f, true, src, offset, async)).isZero();
            }
            assertThat(f.size()).isEqualTo(size == 0 ? 0 : offset + size);

            Object dst = newBuffer(kind, size);
            done = 0;
            while (done < size) {
                Object part = dst instanceof MemorySegment s ? s.asSlice(done) : dst;
                int n = transfer(f, false, part, offset + done, async);
                assertThat(n).as("read at %d", offset + done).isPositive().isLessThanOrEqualTo((int) (size - done));
                done += n;
                if (dst instanceof ByteBuffer bb) {
                    assertThat(bb.position()).isEqualTo(done);
                }
            }
            assertThat(transfer(f, false, newBuffer(kind, 17), offset + size, async)).as("read at end of file").isZero();
            assertThat(Bytes.firstMismatch(view(dst), 7, offset)).as("first wrong byte").isEqualTo(-1);
        }
        if (size > 0) {
            byte[] onDisk = Files.readAllBytes(p);
            assertThat(onDisk).hasSize((int) (offset + size));
            assertThat(Bytes.firstMismatch(MemorySegment.ofArray(onDisk).asSlice(offset), 7, offset)).isEqualTo(-1);
            assertThat(MemorySegment.ofArray(onDisk).asSlice(0, offset).mismatch(MemorySegment.ofArray(new byte[(int) offset])))
                    .as("first non-zero byte of the hole before the data").isEqualTo(-1);
        }
    }

    /** A ByteBuffer transfers exactly its bytes from position to limit, and nothing around them. */
    @Test
    void byteBufferTransfersOnlyPositionToLimit() throws Throwable {
        Path p = dir.resolve("window");
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            for (ByteBuffer src : List.of(ByteBuffer.allocate(1000), ByteBuffer.allocateDirect(1000))) {
                src.put(Bytes.array(131, 0, 1000)).position(100).limit(700);
                while (src.hasRemaining()) {
                    f.write(src, 5000 + src.position() - 100);
                }
                assertThat(src.position()).isEqualTo(700);
                assertThat(src.limit()).isEqualTo(700);
            }
            assertThat(f.size()).isEqualTo(5600);
            for (boolean async : new boolean[] {false, true}) {
                for (ByteBuffer dst : List.of(ByteBuffer.allocate(1000), ByteBuffer.allocateDirect(1000))) {
                    for (int i = 0; i < 1000; i++) {
                        dst.put(i, (byte) 0x5A);
                    }
                    dst.position(300).limit(500);
                    while (dst.hasRemaining()) {
                        long at = 5000 + dst.position() - 200;
                        int n = async ? await(f.readAsync(dst, at)) : f.read(dst, at);
                        assertThat(n).isPositive();
                    }
                    assertThat(dst.position()).isEqualTo(500);
                    ByteBuffer whole = dst.duplicate().clear();
                    for (int i = 0; i < 1000; i++) {
                        byte want = i >= 300 && i < 500 ? Bytes.at(131, i - 100) : (byte) 0x5A;
                        assertThat(whole.get(i)).as("byte %d of the buffer", i).isEqualTo(want);
                    }
                }
            }
        }
    }

    @Test
    void readFullyAndWriteFullyMoveEveryByteInBothForms() throws Throwable {
        Path p = dir.resolve("fully");
        int size = 3 * (1 << 20) + 123;
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            MemorySegment a = segment(size);
            Bytes.fill(a, 11, 5);
            f.writeFully(a, 5);
            MemorySegment b = MemorySegment.ofArray(new byte[size]);
            Bytes.fill(b, 12, 5 + size);
            await(f.writeFullyAsync(b, 5 + size));
            assertThat(f.size()).isEqualTo(5 + 2L * size);

            MemorySegment ra = segment(size);
            assertThat(f.readFully(ra, 5)).isEqualTo(size);
            assertThat(Bytes.firstMismatch(ra, 11, 5)).isEqualTo(-1);
            MemorySegment rb = MemorySegment.ofArray(new byte[size]);
            assertThat(await(f.readFullyAsync(rb, 5 + size))).isEqualTo(size);
            assertThat(Bytes.firstMismatch(rb, 12, 5 + size)).isEqualTo(-1);
        }
    }

    @Test
    void scatterReadFillsEverySegmentInFileOrder() throws Throwable {
        int size = 300_000;
        Path p = file("scatter", 51, size);
        try (IoFile f = io.open(p, OpenFlag.READ)) {
            // native and heap segments, odd lengths, an empty one: the bytes land in file order
            int[] lengths = {7, 65_536, 0, 4, 100_003, 1, 4096};
            long from = 12_345;
            java.util.List<MemorySegment> dsts = new java.util.ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                dsts.add(i % 3 == 1 ? MemorySegment.ofArray(new byte[lengths[i]]) : segment(lengths[i]));
            }
            long total = java.util.Arrays.stream(lengths).sum();
            assertThat(await(f.readFullyAsync(dsts, from))).isEqualTo(total);
            long at = from;
            for (MemorySegment d : dsts) {
                assertThat(Bytes.firstMismatch(d, 51, at)).as("segment at file offset %d", at).isEqualTo(-1);
                at += d.byteSize();
            }
            // all native (one READV on io_uring), running into end of file: short, the rest untouched
            MemorySegment a = segment(200_000);
            MemorySegment b = segment(200_000);
            b.fill((byte) 0x33);
            assertThat(await(f.readFullyAsync(java.util.List.of(a, b), size - 250_000))).isEqualTo(250_000);
            assertThat(Bytes.firstMismatch(a, 51, size - 250_000)).isEqualTo(-1);
            assertThat(Bytes.firstMismatch(b.asSlice(0, 50_000), 51, size - 50_000)).isEqualTo(-1);
            assertThat(b.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 50_000)).isEqualTo((byte) 0x33);
            assertThat(await(f.readFullyAsync(java.util.List.of(segment(10), segment(10)), size))).isZero();
            // refused before anything is submitted
            expectIo(Errno.EINVAL, p, f.readFullyAsync(java.util.List.of(segment(10)), -1));
            expectIo(Errno.EINVAL, p, f.readFullyAsync(java.util.List.of(segment(10), segment(10).asReadOnly()), 0));
            java.util.List<MemorySegment> tooMany = java.util.Collections.nCopies(IoFile.MAX_SEGMENTS + 1, segment(1));
            expectIo(Errno.EINVAL, p, f.readFullyAsync(tooMany, 0));
        }
    }

    // ---- offsets beyond 4 GiB ------------------------------------------------------------------

    @Test
    void offsetsBeyondFourGibibytesInSparseFiles() throws Throwable {
        Path p = dir.resolve("sparse");
        long at = 5 * GiB + 7;
        int len = 65537;
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            MemorySegment src = segment(len);
            Bytes.fill(src, 21, at);
            f.writeFully(src, at);
            ByteBuffer tail = ByteBuffer.allocateDirect(100);
            tail.put(Bytes.array(22, at + len, 100)).flip();
            assertThat(await(f.writeAsync(tail, at + len))).isEqualTo(100);
            assertThat(f.size()).isEqualTo(at + len + 100);

            MemorySegment back = segment(len);
            assertThat(f.readFully(back, at)).isEqualTo(len);
            assertThat(Bytes.firstMismatch(back, 21, at)).isEqualTo(-1);
            MemorySegment back2 = segment(100);
            assertThat(await(f.readFullyAsync(back2, at + len))).isEqualTo(100);
            assertThat(Bytes.firstMismatch(back2, 22, at + len)).isEqualTo(-1);

            // The hole just past 4 GiB reads as zeros, and a 32-bit truncated offset would have
            // landed on data written at (at mod 4 GiB), which must not exist.
            MemorySegment hole = segment(8192);
            hole.fill((byte) 1);
            assertThat(f.readFully(hole, 4 * GiB + 7)).isEqualTo(8192);
            assertThat(hole.mismatch(segment(8192))).isEqualTo(-1);
            MemorySegment low = segment(len);
            low.fill((byte) 1);
            assertThat(f.readFully(low, at - 4 * GiB)).isEqualTo(len);
            assertThat(low.mismatch(segment(len))).isEqualTo(-1);

            assertThat(f.read(segment(10), at + len + 100)).isZero();
            assertThat(f.read(segment(10), 1L << 40)).isZero();
        }
    }

    // ---- end of file ---------------------------------------------------------------------------

    @Test
    void readingAtOrPastEndOfFileIsAShortReadNotAnError() throws Throwable {
        Path p = file("short", 31, 1000);
        try (IoFile f = io.open(p, OpenFlag.READ)) {
            MemorySegment buf = segment(4096);
            assertThat(f.readFully(buf, 0)).isEqualTo(1000);
            assertThat(Bytes.firstMismatch(buf.asSlice(0, 1000), 31, 0)).isEqualTo(-1);
            int n = f.read(buf, 900);
            assertThat(n).isBetween(1, 100);
            assertThat(f.readFully(buf, 900)).isEqualTo(100);
            assertThat(Bytes.firstMismatch(buf.asSlice(0, 100), 31, 900)).isEqualTo(-1);
            assertThat(await(f.readFullyAsync(buf, 900))).isEqualTo(100);

            for (long at : new long[] {1000, 1001, 4096, 1L << 33, Long.MAX_VALUE - 4096}) {
                assertThat(f.read(buf, at)).as("read at %d", at).isZero();
                assertThat(await(f.readAsync(buf, at))).as("readAsync at %d", at).isZero();
                assertThat(f.readFully(buf, at)).as("readFully at %d", at).isZero();
                assertThat(await(f.readFullyAsync(buf, at))).isZero();
                ByteBuffer bb = ByteBuffer.allocate(64);
                assertThat(f.read(bb, at)).isZero();
                assertThat(await(f.readAsync(bb, at))).isZero();
                assertThat(bb.position()).isZero();
            }
        }
        Path empty = dir.resolve("empty");
        Files.createFile(empty);
        try (IoFile f = io.open(empty, OpenFlag.READ)) {
            assertThat(f.size()).isZero();
            assertThat(f.read(segment(4096), 0)).isZero();
            assertThat(await(f.readFullyAsync(segment(4096), 0))).isZero();
        }
    }

    // ---- argument and mode errors ---------------------------------------------------------------

    @Test
    void negativePositionIsEinval() throws Throwable {
        Path p = file("neg", 41, 100);
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE)) {
            MemorySegment buf = segment(10);
            expectIo(Errno.EINVAL, p, () -> f.read(buf, -1));
            expectIo(Errno.EINVAL, p, () -> f.write(buf, -1));
            expectIo(Errno.EINVAL, p, f.readAsync(buf, -4096));
            expectIo(Errno.EINVAL, p, f.writeAsync(buf, Long.MIN_VALUE));
        }
        assertThat(Files.readAllBytes(p)).isEqualTo(Bytes.array(41, 0, 100));
    }

    /** pread(2)/pwrite(2) on a descriptor not open for that direction fail with EBADF. */
    @Test
    void wrongDirectionIsEbadf() throws Throwable {
        Path p = file("dir", 43, 4096);
        MemorySegment buf = segment(100);
        Bytes.fill(buf, 44, 0);
        try (IoFile ro = io.open(p, OpenFlag.READ)) {
            expectIo(Errno.EBADF, p, () -> ro.write(buf, 0));
            expectIo(Errno.EBADF, p, ro.writeAsync(buf, 0));
            expectIo(Errno.EBADF, p, () -> ro.write(ByteBuffer.allocateDirect(8), 0));
            expectIo(Errno.EBADF, p, () -> ro.writeFully(buf, 0));
        }
        try (IoFile wo = io.open(p, OpenFlag.WRITE)) {
            expectIo(Errno.EBADF, p, () -> wo.read(buf, 0));
            expectIo(Errno.EBADF, p, wo.readAsync(buf, 0));
            expectIo(Errno.EBADF, p, () -> wo.readFully(buf, 0));
        }
        assertThat(Files.readAllBytes(p)).isEqualTo(Bytes.array(43, 0, 4096));
    }

    // ---- fsync, fdatasync, size -----------------------------------------------------------------

    @Test
    void fsyncAndFdatasyncInBothForms() throws Throwable {
        Path p = dir.resolve("synced");
        try (IoFile f = io.open(p, OpenFlag.WRITE, OpenFlag.CREATE)) {
            MemorySegment src = segment(10_000);
            Bytes.fill(src, 51, 0);
            f.writeFully(src, 0);
            f.fsync();
            await(f.writeFullyAsync(src, 10_000));
            await(f.fsyncAsync());
            f.writeFully(src, 20_000);
            f.fdatasync();
            await(f.fdatasyncAsync());
            assertThat(f.size()).isEqualTo(30_000);
        }
        byte[] onDisk = Files.readAllBytes(p);
        assertThat(onDisk).hasSize(30_000);
        for (int i = 0; i < 3; i++) {
            assertThat(Bytes.firstMismatch(MemorySegment.ofArray(onDisk).asSlice(i * 10_000L, 10_000), 51, 0)).isEqualTo(-1);
        }
        // fsync(2) is allowed on a read-only descriptor.
        try (IoFile ro = io.open(p, OpenFlag.READ)) {
            ro.fsync();
            await(ro.fdatasyncAsync());
        }
    }

    // ---- batches ---------------------------------------------------------------------------------

    @Test
    void batchStartsNothingBeforeSubmitThenRunsEveryOperation() throws Throwable {
        Path p = file("batch", 61, 8192);
        Path closedPath = file("closed", 62, 10);
        IoFile closed = io.open(closedPath, OpenFlag.READ);
        closed.close();
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE)) {
            IoBatch batch = io.batch();
            assertThat(batch.size()).isZero();
            MemorySegment w1 = segment(4096);
            Bytes.fill(w1, 63, 8192);
            MemorySegment w2 = segment(4096);
            Bytes.fill(w2, 64, 12288);
            MemorySegment r1 = segment(4096);
            MemorySegment r2 = segment(10);
            CompletableFuture<Integer> fw1 = batch.write(f, w1, 8192);
            CompletableFuture<Integer> fw2 = batch.write(f, w2, 12288);
            CompletableFuture<Integer> fr1 = batch.read(f, r1, 0);
            CompletableFuture<Integer> fbad = batch.read(closed, r2, 0);
            CompletableFuture<Void> fs = batch.fsync(f);
            assertThat(batch.size()).isEqualTo(5);

            // Nothing may start before submit: the file must not have grown, and no future is done.
            assertThat(Files.size(p)).isEqualTo(8192);
            assertThat(List.of(fw1, fw2, fr1, fbad, fs)).noneMatch(CompletableFuture::isDone);

            batch.submit();
            assertThat(await(fw1)).isEqualTo(4096);
            assertThat(await(fw2)).isEqualTo(4096);
            assertThat(await(fr1)).isEqualTo(4096);
            assertThat(Bytes.firstMismatch(r1, 61, 0)).isEqualTo(-1);
            await(fs);
            // One failing operation fails only its own future.
            expectIo(Errno.EBADF, closedPath, fbad);

            MemorySegment back = segment(8192);
            assertThat(f.readFully(back, 8192)).isEqualTo(8192);
            assertThat(Bytes.firstMismatch(back.asSlice(0, 4096), 63, 8192)).isEqualTo(-1);
            assertThat(Bytes.firstMismatch(back.asSlice(4096), 64, 12288)).isEqualTo(-1);

            assertThatThrownBy(batch::submit).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> batch.read(f, r1, 0)).isInstanceOf(IllegalStateException.class);
        }
    }

    /** 1,280 writes across 8 files in one batch: more than any submission queue holds at once. */
    @Test
    void largeBatchAcrossFiles() throws Throwable {
        int files = 8;
        int perFile = 160;
        List<IoFile> open = new ArrayList<>();
        try {
            for (int i = 0; i < files; i++) {
                open.add(io.open(dir.resolve("b" + i), OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE));
            }
            IoBatch batch = io.batch();
            List<CompletableFuture<Integer>> writes = new ArrayList<>();
            for (int i = 0; i < files; i++) {
                for (int k = 0; k < perFile; k++) {
                    MemorySegment s = segment(1024);
                    Bytes.fill(s, 100 + i, k * 1024L);
                    writes.add(batch.write(open.get(i), s, k * 1024L));
                }
            }
            batch.submit();
            for (CompletableFuture<Integer> w : writes) {
                assertThat(await(w)).isEqualTo(1024);
            }
            for (int i = 0; i < files; i++) {
                MemorySegment back = segment(perFile * 1024L);
                assertThat(open.get(i).readFully(back, 0)).isEqualTo(perFile * 1024L);
                assertThat(Bytes.firstMismatch(back, 100 + i, 0)).isEqualTo(-1);
            }
        } finally {
            for (IoFile f : open) {
                f.close();
            }
        }
    }

    // ---- many operations in flight ---------------------------------------------------------------

    /**
     * 2,000 asynchronous writes and then 2,000 asynchronous reads in flight at once from 16 platform
     * threads (none waits before all are submitted), and 1,000 virtual threads each doing blocking
     * writes and reads of their own region at the same time, all on one file. Every byte is checked.
     */
    @Test
    void thousandsOfOperationsInFlightFromPlatformAndVirtualThreads() throws Throwable {
        int block = 1024;
        int platformThreads = 16;
        int opsPerThread = 125;           // 16 x 125 = 2,000 writes, then 2,000 reads
        int virtualThreads = 1000;
        long platformRegion = (long) platformThreads * opsPerThread * block;
        long total = platformRegion + (long) virtualThreads * 2 * block;
        Path p = dir.resolve("concurrent");
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> jobs = new ArrayList<>();
            try (ExecutorService platform = Executors.newFixedThreadPool(platformThreads);
                 ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int t = 0; t < platformThreads; t++) {
                    int thread = t;
                    jobs.add(platform.submit(() -> {
                        go.await();
                        List<CompletableFuture<Integer>> writes = new ArrayList<>();
                        for (int k = 0; k < opsPerThread; k++) {
                            long at = ((long) k * platformThreads + thread) * block;
                            MemorySegment s = segment(block);
                            Bytes.fill(s, 1, at);
                            writes.add(f.writeAsync(s, at));
                        }
                        for (CompletableFuture<Integer> w : writes) {
                            assertThat(await(w)).isEqualTo(block);
                        }
                        List<CompletableFuture<Integer>> reads = new ArrayList<>();
                        List<MemorySegment> bufs = new ArrayList<>();
                        for (int k = 0; k < opsPerThread; k++) {
                            // read back this thread's blocks, all in flight at once
                            MemorySegment s = segment(block);
                            bufs.add(s);
                            reads.add(f.readAsync(s, ((long) k * platformThreads + thread) * block));
                        }
                        for (int k = 0; k < opsPerThread; k++) {
                            assertThat(await(reads.get(k))).isEqualTo(block);
                            long at = ((long) k * platformThreads + thread) * block;
                            assertThat(Bytes.firstMismatch(bufs.get(k), 1, at)).as("block at %d", at).isEqualTo(-1);
                        }
                        return null;
                    }));
                }
                for (int v = 0; v < virtualThreads; v++) {
                    long at = platformRegion + (long) v * 2 * block;
                    boolean heap = v % 2 == 1;
                    jobs.add(virtual.submit(() -> {
                        go.await();
                        MemorySegment s = heap ? MemorySegment.ofArray(new byte[2 * block]) : segment(2 * block);
                        Bytes.fill(s, 2, at);
                        f.writeFully(s, at);
                        MemorySegment r = segment(2 * block);
                        assertThat(f.readFully(r, at)).isEqualTo(2 * block);
                        assertThat(Bytes.firstMismatch(r, 2, at)).isEqualTo(-1);
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> j : jobs) {
                    try {
                        j.get(WAIT_SECONDS, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        throw e.getCause();
                    }
                }
            }
            assertThat(f.size()).isEqualTo(total);
            MemorySegment all = segment(total);
            assertThat(f.readFully(all, 0)).isEqualTo(total);
            assertThat(Bytes.firstMismatch(all.asSlice(0, platformRegion), 1, 0)).isEqualTo(-1);
            assertThat(Bytes.firstMismatch(all.asSlice(platformRegion), 2, platformRegion)).isEqualTo(-1);
        }
    }

    // ---- close with operations in flight ---------------------------------------------------------

    /**
     * Closes a file from another thread while 1,000 asynchronous reads and writes and 100 blocking
     * reads on virtual threads are in flight: every future completes (with a value or an
     * IoException; none hangs), close returns, and every later operation fails with EBADF.
     */
    @Test
    void closeWithOperationsInFlight() throws Throwable {
        Path p = file("closing", 71, 1 << 20);
        IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE);
        List<CompletableFuture<Integer>> ops = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            MemorySegment s = segment(4096);
            long at = (i % 256) * 4096L;
            if (i % 4 == 0) {
                Bytes.fill(s, 71, at);
                ops.add(f.writeAsync(s, at));
            } else {
                ops.add(f.readAsync(s, at));
            }
        }
        List<CompletableFuture<Integer>> blocking = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            CompletableFuture<Integer> r = new CompletableFuture<>();
            blocking.add(r);
            long at = i * 4096L;
            Thread.ofVirtual().start(() -> {
                try {
                    r.complete(f.read(segment(4096), at));
                } catch (Throwable e) {
                    r.completeExceptionally(e);
                }
            });
        }
        CompletableFuture<Void> closer = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                f.close();
                closer.complete(null);
            } catch (Throwable e) {
                closer.completeExceptionally(e);
            }
        });
        await(closer);

        // Operations started before close are waited for, so they all succeed (IoFile.close).
        for (CompletableFuture<Integer> op : ops) {
            assertThat(await(op)).isEqualTo(4096);
        }
        // The blocking reads race the close: each either ran or was refused with EBADF.
        for (CompletableFuture<Integer> op : blocking) {
            try {
                assertThat(await(op)).isEqualTo(4096);
            } catch (IoException e) {
                assertThat(e.errno()).as("failure of an operation racing close: %s", e).isEqualTo(Errno.EBADF);
                assertThat(e.path()).isEqualTo(p);
            }
        }
        // Whatever was written before close is intact (every write put the same bytes back).
        assertThat(Bytes.firstMismatch(MemorySegment.ofArray(Files.readAllBytes(p)), 71, 0)).isEqualTo(-1);

        MemorySegment buf = segment(4096);
        expectIo(Errno.EBADF, p, () -> f.read(buf, 0));
        expectIo(Errno.EBADF, p, () -> f.write(buf, 0));
        expectIo(Errno.EBADF, p, () -> f.read(ByteBuffer.allocate(8), 0));
        expectIo(Errno.EBADF, p, () -> f.readFully(buf, 0));
        expectIo(Errno.EBADF, p, () -> f.writeFully(buf, 0));
        expectIo(Errno.EBADF, p, f.readAsync(buf, 0));
        expectIo(Errno.EBADF, p, f.writeAsync(buf, 0));
        expectIo(Errno.EBADF, p, f.readFullyAsync(buf, 0));
        expectIo(Errno.EBADF, p, f.writeFullyAsync(buf, 0));
        expectIo(Errno.EBADF, p, f::fsync);
        expectIo(Errno.EBADF, p, f::fdatasync);
        expectIo(Errno.EBADF, p, f.fsyncAsync());
        expectIo(Errno.EBADF, p, f::size);
        f.close(); // a second close is a no-op
    }

    /**
     * The memory-safety contract: a future completes only after the kernel (or pool thread) has
     * let go of its buffer, even when the caller cancels it. A buffer whose future is done may be
     * reused at once; so right after {@code cancel(true)}, each buffer whose future reports done is
     * refilled with a marker, and once the file is closed (which waits for every operation) no
     * marker may have been overwritten by file data. Every future must still complete.
     */
    @Test
    void cancelNeverCompletesAFutureWhileItsBufferIsInUse() throws Throwable {
        int ops = 600;
        int len = 16384;
        Path p = file("cancel", 141, 1 << 20);
        IoFile f = io.open(p, OpenFlag.READ);
        List<MemorySegment> bufs = new ArrayList<>();
        List<CompletableFuture<?>> futures = new ArrayList<>();
        boolean[] reused = new boolean[ops];
        for (int i = 0; i < ops; i++) {
            MemorySegment b = segment(len);
            bufs.add(b);
            long at = (i % 64) * (long) len;
            CompletableFuture<?> op = switch (i % 4) {
                case 0 -> f.readAsync(b, at);
                case 1 -> f.readFullyAsync(b, at);
                case 2 -> f.readAsync(b.asByteBuffer(), at);
                default -> {
                    IoBatch batch = io.batch();
                    CompletableFuture<Integer> r = batch.read(f, b, at);
                    batch.submit();
                    yield r;
                }
            };
            futures.add(op);
            // Cancel at once, while the operation is most likely still in flight.
            op.cancel(true);
            if (op.isDone()) {
                b.fill((byte) 0xEE);
                reused[i] = true;
            }
        }
        f.close();
        for (int i = 0; i < ops; i++) {
            CompletableFuture<?> op = futures.get(i);
            try {
                op.get(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.CancellationException e) {
                // a cancelled future is fine, provided it completed only once its buffer was free
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(IoException.class);
                assertThat(((IoException) e.getCause()).errno()).isIn(Errno.ECANCELED, Errno.EBADF);
            }
            if (reused[i]) {
                MemorySegment marker = segment(len);
                marker.fill((byte) 0xEE);
                assertThat(bufs.get(i).mismatch(marker))
                        .as("buffer %d was written after its future completed", i).isEqualTo(-1);
            }
        }
    }

    @Test
    void closingTheBackendClosesItsFiles() throws Throwable {
        Path a = file("a", 81, 4096);
        Path b = file("b", 82, 4096);
        IoFile fa = io.open(a, OpenFlag.READ);
        IoFile fb = io.open(b, OpenFlag.READ, OpenFlag.WRITE);
        MemorySegment buf = segment(4096);
        List<CompletableFuture<Integer>> inFlight = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            inFlight.add((i % 2 == 0 ? fa : fb).readAsync(segment(4096), 0));
        }
        io.close();
        // FileIo.close waits for the operations in flight on the files it closes.
        for (CompletableFuture<Integer> op : inFlight) {
            assertThat(await(op)).isEqualTo(4096);
        }
        expectIo(Errno.EBADF, a, () -> fa.read(buf, 0));
        expectIo(Errno.EBADF, b, fb.readAsync(buf, 0));
        expectIo(Errno.EBADF, b, () -> fb.write(buf, 0));
        expectIo(Errno.EBADF, a, () -> io.open(a, OpenFlag.READ));
        expectIo(Errno.EBADF, a, io.openAsync(a, OpenFlag.READ));
        io.close(); // idempotent
        fa.close();
        fb.close();
        assertThat(Files.readAllBytes(b)).isEqualTo(Bytes.array(82, 0, 4096));
    }

    // ---- ENOSPC on a real size-capped tmpfs --------------------------------------------------------

    /**
     * Fills a real 1 MiB tmpfs: writing 2 MiB fails with ENOSPC naming the file, in both forms;
     * what was written before stays readable and intact, and after freeing space the same open file
     * takes writes again.
     */
    @Test
    void enospcOnARealSizeCappedTmpfs() throws Throwable {
        SizeCappedTmpfs fs = new SizeCappedTmpfs(dir, 1 << 20);
        try (fs) {
            Path p = fs.dir().resolve("fill");
            Path other = fs.dir().resolve("other");
            try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE);
                 IoFile g = io.open(other, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
                MemorySegment big = segment(2 << 20);
                Bytes.fill(big, 91, 0);
                IoException e = expectIo(Errno.ENOSPC, p, () -> f.writeFully(big, 0));
                assertThat(e.operation()).isEqualTo("write");
                long kept = f.size();
                assertThat(kept).isPositive().isLessThanOrEqualTo(1 << 20);
                MemorySegment back = segment(kept);
                assertThat(f.readFully(back, 0)).isEqualTo(kept);
                assertThat(Bytes.firstMismatch(back, 91, 0)).isEqualTo(-1);

                MemorySegment more = segment(65536);
                Bytes.fill(more, 92, 0);
                expectIo(Errno.ENOSPC, other, g.writeFullyAsync(more, 0));
                expectIo(Errno.ENOSPC, other, () -> g.write(more, 0));
                expectIo(Errno.ENOSPC, other, g.writeAsync(more, 0));
                f.fsync();

                // Freeing space makes the disk usable again through the same descriptors.
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(0);
                }
                g.writeFully(more, 0);
                MemorySegment check = segment(65536);
                assertThat(g.readFully(check, 0)).isEqualTo(65536);
                assertThat(Bytes.firstMismatch(check, 92, 0)).isEqualTo(-1);
            }
        }
        assertNotMounted(fs.dir());
    }

    // ---- EIO from a damaged disk ---------------------------------------------------------------------

    /**
     * Reads of a region the kernel cannot read back (a corrupted block of a real loop-mounted
     * squashfs, see {@link CorruptSquashfs}) fail with EIO naming the file, in every form; the
     * rest of the file still reads, and the file stays usable after the error.
     */
    @Test
    void eioFromADamagedFilesystem() throws Throwable {
        CorruptSquashfs fs = new CorruptSquashfs(dir);
        try (fs) {
            Path p = fs.file();
            byte[] expected = CorruptSquashfs.content();
            try (IoFile f = io.open(p, OpenFlag.READ)) {
                assertThat(f.size()).isEqualTo(CorruptSquashfs.FILE_SIZE);
                MemorySegment buf = segment(4096);
                IoException e = expectIo(Errno.EIO, p, () -> f.read(buf, 0));
                assertThat(e.operation()).isEqualTo("read");
                expectIo(Errno.EIO, p, f.readAsync(buf, 4096));
                expectIo(Errno.EIO, p, () -> f.read(ByteBuffer.allocateDirect(100), 1000));
                expectIo(Errno.EIO, p, f.readFullyAsync(segment(CorruptSquashfs.FILE_SIZE), 0));
                expectIo(Errno.EIO, p, () -> f.readFully(segment(8192), 0));

                long at = 2L * CorruptSquashfs.BLOCK_SIZE;
                MemorySegment good = segment(CorruptSquashfs.BLOCK_SIZE);
                assertThat(f.readFully(good, at)).isEqualTo(CorruptSquashfs.BLOCK_SIZE);
                assertThat(good.mismatch(MemorySegment.ofArray(expected).asSlice(at, CorruptSquashfs.BLOCK_SIZE)))
                        .isEqualTo(-1);
                expectIo(Errno.EIO, p, () -> f.read(buf, 0));
            }
        }
        assertNotMounted(fs.file().getParent());
    }

    // ---- EACCES -------------------------------------------------------------------------------------

    /**
     * Root bypasses permission bits, so EACCES cannot be produced inside this (root) JVM. A child JVM
     * is started through {@code setpriv --reuid=65534 --regid=65534 --clear-groups} (util-linux) as
     * user {@code nobody}; it opens, through the backend under test, a root-owned file of mode 0600
     * (must be EACCES) and, as a control that the child itself works, a file of mode 0644.
     */
    @Test
    void eaccesForAnUnprivilegedUser() throws Exception {
        Requires.root("start a child JVM as user nobody (setpriv --reuid)");
        Requires.tool("setpriv", "util-linux");
        Path shared = Files.createTempDirectory(Path.of("/tmp"), "kura-eacces-");
        try {
            Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path secret = shared.resolve("secret");
            Files.write(secret, Bytes.array(3, 0, 100));
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            Path open = shared.resolve("public");
            Files.write(open, Bytes.array(4, 0, 100));
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
            Path newFile = shared.resolve("not-allowed-to-create");

            ChildJvm.Result r = ChildJvm.run(shared,
                    List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), List.of(),
                    OpenAsUserMain.class,
                    List.of(ChildJvm.encode(config()), secret + ":READ", secret + ":WRITE",
                            open + ":READ", open + ":WRITE", newFile + ":WRITE+CREATE"),
                    60);
            assertThat(r.exitCode()).as("child output:\n%s", r.output()).isZero();
            assertThat(r.output()).contains("UID 65534")
                    .contains("ERRNO EACCES " + secret + "\n")
                    .contains("OPENED " + open + "\n")
                    .contains("ERRNO EACCES " + open + "\n")
                    .contains("ERRNO EACCES " + newFile + "\n")
                    .doesNotContain("OPENED " + secret);
            assertThat(r.output().lines().filter(l -> l.equals("ERRNO EACCES " + secret))).hasSize(2);
            assertThat(newFile).doesNotExist();
        } finally {
            try (Stream<Path> s = Files.walk(shared)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
            }
        }
    }

    // ---- O_DIRECT -------------------------------------------------------------------------------------

    /**
     * O_DIRECT on a file under the test's temporary directory on the root filesystem (ext4 here;
     * tmpfs also accepts O_DIRECT since Linux 6.6). Aligned transfers work; a misaligned buffer
     * address, length or file offset fails with EINVAL and a message saying what must be aligned,
     * in both forms, and the file is left untouched.
     */
    @Test
    void directIoAlignedWorksMisalignedIsAClearEinval() throws Throwable {
        Path p = dir.resolve("direct");
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE, OpenFlag.DIRECT)) {
            assertThat(f.flags()).contains(OpenFlag.DIRECT);
            MemorySegment src = arena.allocate(65536, 4096);
            Bytes.fill(src, 101, 4096);
            f.writeFully(src, 4096);
            assertThat(await(f.writeAsync(src.asSlice(0, 4096), 65536 + 4096))).isEqualTo(4096);
            f.fdatasync();
            MemorySegment dst = arena.allocate(65536, 4096);
            assertThat(f.readFully(dst, 4096)).isEqualTo(65536);
            assertThat(Bytes.firstMismatch(dst, 101, 4096)).isEqualTo(-1);
            MemorySegment dst2 = arena.allocate(4096, 4096);
            assertThat(await(f.readAsync(dst2, 4096))).isEqualTo(4096);
            assertThat(Bytes.firstMismatch(dst2, 101, 4096)).isEqualTo(-1);
            ByteBuffer direct = dst2.asByteBuffer();
            assertThat(f.read(direct, 8192)).isEqualTo(4096);
            assertThat(f.size()).isEqualTo(65536 + 8192);

            MemorySegment misAddress = arena.allocate(8192, 4096).asSlice(1, 4096);
            MemorySegment aligned = arena.allocate(8192, 4096);
            MemorySegment misLength = aligned.asSlice(0, 100);
            List<Executable> bad = List.of(
                    () -> f.read(misAddress, 0),
                    () -> f.write(misAddress, 0),
                    () -> f.read(aligned.asSlice(0, 4096), 1),
                    () -> f.write(aligned.asSlice(0, 4096), 4097),
                    () -> f.read(misLength, 0),
                    () -> f.write(misLength, 0),
                    () -> await(f.readAsync(misAddress, 0)),
                    () -> await(f.writeAsync(misAddress, 0)),
                    () -> await(f.readAsync(aligned.asSlice(0, 4096), 513)),
                    () -> await(f.writeAsync(misLength, 4096)),
                    () -> await(f.readFullyAsync(misLength, 0)),
                    () -> f.writeFully(misAddress, 0));
            for (Executable call : bad) {
                IoException e = expectIo(Errno.EINVAL, p, call);
                assertThat(e.getMessage()).containsIgnoringCase("align");
            }
            MemorySegment after = arena.allocate(65536, 4096);
            assertThat(f.readFully(after, 4096)).isEqualTo(65536);
            assertThat(Bytes.firstMismatch(after, 101, 4096)).isEqualTo(-1);
        }
    }

    /**
     * A heap buffer has no address of its own to align. On a DIRECT file a block-sized heap
     * transfer must either work, with every byte right (a backend may bounce it through aligned
     * native memory, as the JDK does), or fail with EINVAL; never corrupt data.
     */
    @Test
    void directIoWithHeapBuffersWorksOrIsEinval() throws Throwable {
        Path p = dir.resolve("direct-heap");
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE, OpenFlag.DIRECT)) {
            byte[] data = Bytes.array(111, 0, 8192);
            boolean wrote;
            try {
                f.writeFully(MemorySegment.ofArray(data), 0);
                wrote = true;
            } catch (IoException e) {
                assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                assertThat(e.path()).isEqualTo(p);
                wrote = false;
            }
            if (!wrote) {
                MemorySegment aligned = arena.allocate(8192, 4096);
                aligned.copyFrom(MemorySegment.ofArray(data));
                f.writeFully(aligned, 0);
            }
            ByteBuffer heap = ByteBuffer.allocate(8192);
            try {
                while (heap.hasRemaining()) {
                    assertThat(f.read(heap, heap.position())).isPositive();
                }
                assertThat(heap.array()).isEqualTo(data);
            } catch (IoException e) {
                assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                assertThat(e.path()).isEqualTo(p);
            }
        }
        assertThat(Files.readAllBytes(p)).isEqualTo(Bytes.array(111, 0, 8192));
    }

    // ---- virtual threads ----------------------------------------------------------------------------

    /**
     * The blocking forms are safe on virtual threads: see {@link PinningProbeMain} for the check, a
     * blocking read on {@code /dev/kmsg} that only another virtual thread can complete, run in a
     * child JVM whose scheduler has exactly one carrier and may not add another.
     */
    @Test
    void blockingReadOnAVirtualThreadDoesNotPinItsCarrier() throws Exception {
        Requires.root("write the probe's markers to /dev/kmsg");
        Path devkmsg = Path.of("/proc/sys/kernel/printk_devkmsg");
        if (Files.exists(devkmsg)) {
            assertThat(Files.readString(devkmsg).trim())
                    .as("the probe logs markers through /dev/kmsg; sysctl kernel.printk_devkmsg must not be off")
                    .isNotEqualTo("off");
        }
        ChildJvm.Result r = ChildJvm.run(dir, List.of(),
                List.of("-Djdk.virtualThreadScheduler.parallelism=1", "-Djdk.virtualThreadScheduler.maxPoolSize=1"),
                PinningProbeMain.class, List.of(ChildJvm.encode(config())), 90);
        assertThat(r.output()).as("child output").contains("parallelism=1 maxPoolSize=1");
        assertThat(r.exitCode()).as("child output:\n%s", r.output()).isZero();
        assertThat(r.output().lines()).as("child output:\n%s", r.output()).contains("OK");
    }

    /**
     * Many virtual threads (far more than carriers) blocking in reads, writes and fdatasyncs at
     * once all finish, with every byte right; and JFR records no {@code jdk.VirtualThreadPinned}
     * event (a virtual thread parking while pinned, threshold 0) in kura-io code meanwhile.
     */
    @Test
    void manyVirtualThreadsBlockingAtOnce() throws Throwable {
        Path p = dir.resolve("vt");
        int threads = 2000;
        // A first small round loads and initializes every class involved: a virtual thread that
        // waits for class loading or initialization is pinned by the JVM itself (not kura-io).
        manyVirtualThreads(dir.resolve("warm-up"), 64);
        try (jdk.jfr.Recording rec = new jdk.jfr.Recording()) {
            rec.enable("jdk.VirtualThreadPinned").withThreshold(java.time.Duration.ZERO).withStackTrace();
            rec.start();
            manyVirtualThreads(p, threads);
            rec.stop();
            Path jfr = dir.resolve("pinned.jfr");
            rec.dump(jfr);
            List<String> pinned = new ArrayList<>();
            for (jdk.jfr.consumer.RecordedEvent e : jdk.jfr.consumer.RecordingFile.readAllEvents(jfr)) {
                if (e.getStackTrace() != null && e.getStackTrace().getFrames().stream()
                        .anyMatch(fr -> fr.getMethod().getType().getName().startsWith("dev.kura.io"))) {
                    pinned.add(e.toString());
                }
            }
            assertThat(pinned).as("virtual threads pinned while parking in kura-io").isEmpty();
        }
    }

    private void manyVirtualThreads(Path p, int threads) throws Throwable {
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE);
             ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> jobs = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                long at = i * 512L;
                int n = i;
                jobs.add(vts.submit(() -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(512);
                    b.put(Bytes.array(5, at, 512)).flip();
                    while (b.hasRemaining()) {
                        f.write(b, at + b.position());
                    }
                    if (n % 100 == 0) {
                        f.fdatasync();
                    }
                    ByteBuffer r = ByteBuffer.allocate(512);
                    while (r.hasRemaining()) {
                        if (f.read(r, at + r.position()) == 0) {
                            fail("unexpected end of file at " + (at + r.position()));
                        }
                    }
                    assertThat(Bytes.firstMismatch(MemorySegment.ofBuffer(r.flip()), 5, at)).isEqualTo(-1);
                    return null;
                }));
            }
            for (Future<?> j : jobs) {
                try {
                    j.get(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    throw e.getCause();
                }
            }
            assertThat(f.size()).isEqualTo(threads * 512L);
        }
    }

    // ---- short transfers over the kernel's per-call limit --------------------------------------------

    /**
     * Linux moves at most 0x7ffff000 bytes per read(2)/write(2) call ({@code MAX_RW_COUNT}), so
     * readFully and writeFully of 2 GiB + 1 MiB must loop over short transfers. Sparse file, one
     * 2 GiB buffer: tagged slow.
     */
    @Test
    @Tag("slow")
    void fullyFormsLoopOverShortTransfersPastTheKernelLimit() throws Throwable {
        long size = 2 * GiB + (1 << 20);
        Path p = dir.resolve("huge");
        try (IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE);
             Arena big = Arena.ofShared()) {
            MemorySegment seg = big.allocate(size, 4096);
            for (long at = 0; at < size; at += 1 << 20) {
                seg.set(ValueLayout.JAVA_LONG_UNALIGNED, at, at ^ 0x5A5A5A5A5A5A5A5AL);
            }
            int n = f.write(seg, 0);
            assertThat(n).isPositive().isLessThan(Integer.MAX_VALUE);
            f.writeFully(seg, 0);
            assertThat(f.size()).isEqualTo(size);
            seg.fill((byte) 0);
            assertThat(f.readFully(seg, 0)).isEqualTo(size);
            for (long at = 0; at < size; at += 1 << 20) {
                assertThat(seg.get(ValueLayout.JAVA_LONG_UNALIGNED, at)).isEqualTo(at ^ 0x5A5A5A5A5A5A5A5AL);
            }
            seg.fill((byte) 0);
            assertThat(await(f.readFullyAsync(seg, 0))).isEqualTo(size);
            assertThat(seg.get(ValueLayout.JAVA_LONG_UNALIGNED, size - (1 << 20))).isEqualTo((size - (1 << 20)) ^ 0x5A5A5A5A5A5A5A5AL);
        }
    }
}
