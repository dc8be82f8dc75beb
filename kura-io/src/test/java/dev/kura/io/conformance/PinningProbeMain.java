package dev.kura.io.conformance;

import dev.kura.io.Errno;
import dev.kura.io.FileIo;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;

import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Child-JVM main proving that a blocking read on a virtual thread waits without holding its
 * carrier. Run it with a scheduler of exactly one carrier and no compensation
 * ({@code -Djdk.virtualThreadScheduler.parallelism=1 -Djdk.virtualThreadScheduler.maxPoolSize=1}).
 *
 * <h2>Why /dev/kmsg</h2>
 * The check needs a read that blocks until another virtual thread acts, and regular files never
 * block that way. {@code /dev/kmsg} does: a {@code pread(2)} on it (the offset is ignored) returns
 * the next kernel log record and, once the reader has caught up, sleeps until a new record is
 * logged; root may log one by writing to it. io_uring punts such a read to an io-wq worker, NIO
 * runs it on a pool thread, so both backends can read it.
 *
 * <h2>The check</h2>
 * The reader (virtual thread R) reads records until it has seen a start marker, then does one
 * more blocking read. The waker (virtual thread W) waits until R is parked ({@code WAITING})
 * inside that read, then logs an end marker that completes it. If the backend's blocking read
 * held the only carrier while waiting, W could never run, the marker would never be logged, and
 * R would never finish: the main (platform) thread notices after a timeout, logs the marker itself
 * to free R, and prints {@code PINNED}. Otherwise it prints {@code OK}. There is no timing
 * judgement in the verdict: the only way for W to log its marker is to get a carrier while R waits.
 *
 * <p>Argument: the encoded {@link dev.kura.io.IoConfig}.
 */
public final class PinningProbeMain {
    private PinningProbeMain() {
    }

    private static void log(String line) throws IOException {
        try (FileOutputStream out = new FileOutputStream("/dev/kmsg")) {
            out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Reads records until one containing {@code marker}; true when it came. */
    private static boolean readUntil(IoFile kmsg, MemorySegment buf, String marker) throws IoException {
        while (true) {
            int n;
            try {
                n = kmsg.read(buf, 0);
            } catch (IoException e) {
                if (e.errno() == Errno.EPIPE) {
                    continue; // records were overwritten while we read; the next read resynchronizes
                }
                throw e;
            }
            if (n == 0) {
                return false;
            }
            String rec = new String(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    StandardCharsets.US_ASCII);
            if (rec.contains(marker)) {
                return true;
            }
        }
    }

    public static void main(String[] args) throws Exception {
        System.out.println("parallelism=" + System.getProperty("jdk.virtualThreadScheduler.parallelism")
                + " maxPoolSize=" + System.getProperty("jdk.virtualThreadScheduler.maxPoolSize"));
        String id = UUID.randomUUID().toString();
        String start = "kura-pinning-probe-start-" + id;
        String end = "kura-pinning-probe-end-" + id;
        AtomicBoolean inFinalRead = new AtomicBoolean();
        AtomicBoolean wakerLogged = new AtomicBoolean();
        Throwable[] failure = new Throwable[1];
        try (FileIo io = FileIo.create(ChildJvm.decode(args[0]));
             IoFile kmsg = io.open(Path.of("/dev/kmsg"), OpenFlag.READ);
             Arena arena = Arena.ofShared()) {
            System.out.println("BACKEND " + io.backend());
            MemorySegment buf = arena.allocate(16384, 4096);
            log(start);
            Thread reader = Thread.ofVirtual().name("reader").start(() -> {
                try {
                    if (!readUntil(kmsg, buf, start)) {
                        throw new IllegalStateException("end of /dev/kmsg before the start marker");
                    }
                    inFinalRead.set(true);
                    if (!readUntil(kmsg, buf, end)) {
                        throw new IllegalStateException("end of /dev/kmsg before the end marker");
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                }
            });
            Thread waker = Thread.ofVirtual().name("waker").start(() -> {
                try {
                    // Sleep, not Thread.yield(): a yielding virtual thread may be rescheduled ahead
                    // of the reader forever, while a sleeping one leaves the carrier free.
                    while (!(inFinalRead.get() && reader.getState() == Thread.State.WAITING) && reader.isAlive()) {
                        Thread.sleep(1);
                    }
                    if (reader.isAlive()) {
                        log(end);
                        wakerLogged.set(true);
                    }
                } catch (IOException | InterruptedException e) {
                    failure[0] = e;
                }
            });
            if (!reader.join(java.time.Duration.ofSeconds(15))) {
                log(end); // free the pinned reader so that the JVM can exit
                reader.join(java.time.Duration.ofSeconds(15));
                System.out.println("PINNED: the reader's blocking read held the only carrier while waiting");
                return;
            }
            waker.join(java.time.Duration.ofSeconds(15));
            if (failure[0] != null) {
                System.out.println("FAILED " + failure[0]);
                failure[0].printStackTrace(System.out);
            } else if (wakerLogged.get()) {
                System.out.println("OK");
            } else {
                System.out.println("FAILED: the reader finished without the waker's marker");
            }
        }
    }
}
