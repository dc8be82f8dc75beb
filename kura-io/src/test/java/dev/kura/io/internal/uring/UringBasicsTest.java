package dev.kura.io.internal.uring;

import dev.kura.io.conformance.IoUringHere;
import dev.kura.io.Backend;
import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoBatch;
import dev.kura.io.IoConfig;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** io_uring specifics the shared conformance suite does not cover: paths through the ring, batches, info. */
@org.junit.jupiter.api.Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
class UringBasicsTest {
    @TempDir
    Path dir;

    @org.junit.jupiter.api.BeforeAll
    static void ioUringWorksHere() {
        IoUringHere.require();
    }

    static IoConfig uring() {
        return IoConfig.defaults().withBackend(Backend.IO_URING).withRings(2).withQueueDepth(64);
    }

    @Test
    void infoNamesFeaturesAndEveryOpcode() {
        try (FileIo io = FileIo.create(uring())) {
            assertThat(io.backend()).isEqualTo(Backend.IO_URING);
            assertThat(io.info().features()).contains("IORING_FEAT_SINGLE_MMAP", "IORING_FEAT_NODROP");
            assertThat(io.info().opcodes()).contains("IORING_OP_READ", "IORING_OP_WRITE", "IORING_OP_READ_FIXED",
                    "IORING_OP_OPENAT", "IORING_OP_STATX", "IORING_OP_ASYNC_CANCEL", "IORING_OP_CLOSE", "IORING_OP_FSYNC",
                    "IORING_OP_NOP", "IORING_OP_WRITE_FIXED");
            assertThat(io.info().missingOpcodes()).isEmpty();
            assertThat(io.info().queueDepth()).isEqualTo(64);
            assertThat(io.info().rings()).isEqualTo(2);
        } catch (IoException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * {@code readIfCached} on the caller's thread, on tmpfs ({@code /dev/shm}: RWF_NOWAIT refused,
     * a plain pread of memory pages) and on the build directory's file system (RWF_NOWAIT) for a
     * file just written, so in the page cache: every byte comes back, 0 at the end of the file, -1
     * for a heap buffer (the kernel needs an address), EBADF once closed.
     */
    @Test
    void readIfCachedCopiesCachedBytesOnTheCallersThread() throws Exception {
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "kura-io-test-");
        try {
            readIfCachedOf(shm.resolve("cached.bin"));
            readIfCachedOf(dir.resolve("cached.bin"));
        } finally {
            Files.deleteIfExists(shm.resolve("cached.bin"));
            Files.deleteIfExists(shm);
        }
    }

    private void readIfCachedOf(Path p) throws Exception {
        byte[] data = new byte[100_000];
        new java.util.Random(7).nextBytes(data);
        Files.write(p, data);
        try (FileIo io = FileIo.create(uring()); Arena arena = Arena.ofConfined()) {
            IoFile f = io.open(p, OpenFlag.READ);
            MemorySegment dst = arena.allocate(40_000);
            assertThat(f.readIfCached(dst, 0)).as(p.toString()).isEqualTo(40_000);
            assertThat(dst.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(java.util.Arrays.copyOfRange(data, 0, 40_000));
            assertThat(f.readIfCached(dst, 80_000)).isEqualTo(20_000);
            assertThat(dst.asSlice(0, 20_000).toArray(ValueLayout.JAVA_BYTE))
                    .isEqualTo(java.util.Arrays.copyOfRange(data, 80_000, 100_000));
            assertThat(f.readIfCached(dst, 100_000)).isZero();
            assertThat(f.readIfCached(MemorySegment.ofArray(new byte[16]), 0)).isEqualTo(-1);
            // the scatter form: three segments filled in file order from one offset
            MemorySegment a = arena.allocate(10), b = arena.allocate(30_000), c = arena.allocate(5);
            assertThat(f.readIfCached(java.util.List.of(a, b, c), 1_000)).isEqualTo(30_015);
            assertThat(a.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(java.util.Arrays.copyOfRange(data, 1_000, 1_010));
            assertThat(b.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(java.util.Arrays.copyOfRange(data, 1_010, 31_010));
            assertThat(c.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(java.util.Arrays.copyOfRange(data, 31_010, 31_015));
            assertThat(f.readIfCached(java.util.List.of(a, b), 99_995)).as("short at the end").isEqualTo(5);
            assertThat(f.readIfCached(java.util.List.of(a, MemorySegment.ofArray(new byte[4])), 0)).isEqualTo(-1);
            f.close();
            assertThatThrownBy(() -> f.readIfCached(dst, 0)).isInstanceOf(IoException.class)
                    .satisfies(e -> assertThat(((IoException) e).errno()).isEqualTo(Errno.EBADF));
        }
    }

    @Test
    void writeReadSizeSyncWithNativeAndHeapBuffers() throws Exception {
        Path p = dir.resolve("a");
        try (FileIo io = FileIo.create(uring());
             IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE);
             Arena arena = Arena.ofConfined()) {
            byte[] data = "hello io_uring".getBytes(StandardCharsets.UTF_8);
            assertThat(f.write(MemorySegment.ofArray(data), 0)).isEqualTo(data.length);
            MemorySegment nat = arena.allocate(4096, 4096);
            nat.fill((byte) 'x');
            assertThat(f.write(nat, 4096)).isEqualTo(4096);
            f.fsync();
            f.fdatasync();
            assertThat(f.size()).isEqualTo(8192);
            byte[] back = new byte[data.length];
            assertThat(f.read(MemorySegment.ofArray(back), 0)).isEqualTo(data.length);
            assertThat(back).isEqualTo(data);
            ByteBuffer bb = ByteBuffer.allocate(10);
            assertThat(f.read(bb, 8190)).isEqualTo(2);
            assertThat(bb.position()).isEqualTo(2);
            assertThat(bb.get(0)).isEqualTo((byte) 'x');
            MemorySegment n2 = arena.allocate(100);
            assertThat(f.read(n2, 8192)).isZero();
            assertThat(f.read(n2, 1L << 40)).isZero();
        }
        assertThat(Files.readString(p)).startsWith("hello io_uring");
    }

    @Test
    void errorsCarryErrnoAndPath() throws Exception {
        try (FileIo io = FileIo.create(uring())) {
            assertThatThrownBy(() -> io.open(dir.resolve("missing"), OpenFlag.READ))
                    .isInstanceOfSatisfying(IoException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ENOENT);
                        assertThat(e.path()).isEqualTo(dir.resolve("missing"));
                        assertThat(e.operation()).isEqualTo("open");
                    });
            Files.writeString(dir.resolve("x"), "x");
            assertThatThrownBy(() -> io.open(dir.resolve("x"), OpenFlag.WRITE, OpenFlag.CREATE_NEW))
                    .isInstanceOfSatisfying(IoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EEXIST));
            try (IoFile d = io.open(dir, OpenFlag.READ)) {
                assertThatThrownBy(() -> d.read(MemorySegment.ofArray(new byte[10]), 0))
                        .isInstanceOfSatisfying(IoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EISDIR));
            }
            IoFile f = io.open(dir.resolve("x"), OpenFlag.READ);
            f.close();
            assertThatThrownBy(() -> f.read(MemorySegment.ofArray(new byte[1]), 0))
                    .isInstanceOfSatisfying(IoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
            try (IoFile ro = io.open(dir.resolve("x"), OpenFlag.READ)) {
                assertThatThrownBy(() -> ro.write(MemorySegment.ofArray(new byte[1]), 0))
                        .isInstanceOfSatisfying(IoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
            }
        }
    }

    @Test
    void directIoWithHeapSegmentGoesThroughAlignedBounceBuffer() throws Exception {
        Path p = dir.resolve("direct");
        Files.write(p, new byte[8192]);
        try (FileIo io = FileIo.create(uring());
             IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.DIRECT)) {
            byte[] block = new byte[4096];
            java.util.Arrays.fill(block, (byte) 7);
            try {
                assertThat(f.write(MemorySegment.ofArray(block), 4096)).isEqualTo(4096);
            } catch (IoException e) {
                // tmpfs has no O_DIRECT before 6.6; this kernel is newer, so any error is real
                throw e;
            }
            byte[] back = new byte[4096];
            assertThat(f.read(MemorySegment.ofArray(back), 4096)).isEqualTo(4096);
            assertThat(back).isEqualTo(block);
            assertThatThrownBy(() -> f.read(MemorySegment.ofArray(new byte[100]), 0))
                    .isInstanceOfSatisfying(IoException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EINVAL));
        }
    }

    @Test
    void batchGoesToTheKernelInOneEnter() throws Exception {
        Path p = dir.resolve("batch");
        byte[] content = new byte[64 * 1024];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i / 4096);
        }
        Files.write(p, content);
        try (UringFileIo io = (UringFileIo) FileIo.create(uring().withRings(1));
             IoFile f = io.open(p, OpenFlag.READ);
             Arena arena = Arena.ofShared()) {
            int before = io.rings()[0].stats().largestSubmit();
            assertThat(before).isLessThan(16);
            IoBatch b = io.batch();
            List<MemorySegment> bufs = new ArrayList<>();
            List<CompletableFuture<Integer>> fs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                MemorySegment s = arena.allocate(4096, 4096);
                bufs.add(s);
                fs.add(b.read(f, s, i * 4096L));
            }
            assertThat(b.size()).isEqualTo(16);
            b.submit();
            assertThatThrownBy(b::submit).isInstanceOf(IllegalStateException.class);
            for (int i = 0; i < 16; i++) {
                assertThat(fs.get(i).join()).isEqualTo(4096);
                assertThat(bufs.get(i).get(ValueLayout.JAVA_BYTE, 100)).isEqualTo((byte) i);
            }
            // All 16 SQEs (plus possibly the eventfd re-arm) went in through a single io_uring_enter.
            assertThat(io.rings()[0].stats().largestSubmit()).isGreaterThanOrEqualTo(16);
        }
    }

    @Test
    void registeredFilesAndFixedBuffersAreUsed() throws Exception {
        Path p = dir.resolve("fixed");
        try (UringFileIo io = (UringFileIo) FileIo.create(uring().withRings(2).withFixedBuffers(4, 8192).withRegisteredFiles(8))) {
            List<IoFile> files = new ArrayList<>();
            for (int i = 0; i < 10; i++) { // more files than slots: the last two use plain descriptors
                files.add(io.open(dir.resolve("f" + i), OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE));
            }
            for (int i = 0; i < files.size(); i++) {
                IoFile f = files.get(i);
                byte[] data = ("file " + i).getBytes(StandardCharsets.UTF_8);
                assertThat(f.write(MemorySegment.ofArray(data), 0)).isEqualTo(data.length);
                byte[] back = new byte[data.length];
                assertThat(f.read(MemorySegment.ofArray(back), 0)).isEqualTo(data.length);
                assertThat(back).isEqualTo(data);
                f.fsync();
            }
            long fixedFileOps = 0, fixedBufOps = 0;
            for (Ring r : io.rings()) {
                fixedFileOps += r.stats().fixedFileOps();
                fixedBufOps += r.stats().fixedBufferOps();
            }
            assertThat(fixedFileOps).isEqualTo(8 * 3);
            assertThat(fixedBufOps).isEqualTo(10 * 2);
            // a heap buffer larger than a fixed buffer takes a bounce buffer instead
            byte[] big = new byte[20000];
            assertThat(files.get(0).write(MemorySegment.ofArray(big), 0)).isEqualTo(20000);
            for (IoFile f : files) {
                f.close();
            }
            // slots are reused after close
            try (IoFile again = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
                again.write(MemorySegment.ofArray(new byte[] {1}), 0);
            }
            long after = 0;
            for (Ring r : io.rings()) {
                after += r.stats().fixedFileOps();
            }
            assertThat(after).isEqualTo(fixedFileOps + 2);
        }
    }

    @Test
    void sqPollRingWorks() throws Exception {
        Path p = dir.resolve("sqpoll");
        try (FileIo io = FileIo.create(uring().withSqPoll(true, 0).withRings(1));
             IoFile f = io.open(p, OpenFlag.READ, OpenFlag.WRITE, OpenFlag.CREATE)) {
            for (int i = 0; i < 200; i++) {
                byte[] d = ("r" + i).getBytes(StandardCharsets.UTF_8);
                assertThat(f.write(MemorySegment.ofArray(d), i * 8L)).isEqualTo(d.length);
            }
            Thread.sleep(120); // past sq_thread_idle: the kernel thread sleeps and must be woken
            byte[] back = new byte[4];
            assertThat(f.read(MemorySegment.ofArray(back), 199 * 8L)).isEqualTo(4);
            assertThat(new String(back, StandardCharsets.UTF_8)).isEqualTo("r199");
            assertThat(io.info().features()).contains("IORING_FEAT_SQPOLL_NONFIXED");
        }
    }
}
