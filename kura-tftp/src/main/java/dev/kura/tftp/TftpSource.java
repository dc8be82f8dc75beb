package dev.kura.tftp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Where an RRQ's bytes come from when they are not files under {@code tftp.root}: for instance an
 * S3 bucket read through kura's cache ({@code tftp.source}, wired by {@code kura tftp}). kura-tftp
 * knows nothing of S3: it hands the implementation a checked name and reads the object by
 * position.
 *
 * <p>Names: before {@link #open} is called, the server applies the jail's lexical rules to the
 * client's name: a {@code ..} segment is refused with ERROR 2, leading {@code /} are dropped
 * (PXE configurations often write {@code /pxelinux.0}), an empty name is refused. What reaches
 * {@code open} is the object key.
 *
 * <p>Thread-safety: implementations must be safe for concurrent use; {@link #open} is called on a
 * thread that may block (a virtual thread), never on an event loop.
 */
public interface TftpSource {

    /**
     * Opens an object for reading, waiting for it to be available (e.g. filled into the cache).
     *
     * @param key the object key, already checked (see above)
     * @return an open object; the caller closes it
     * @throws java.nio.file.NoSuchFileException when there is no such object: the client gets
     *     ERROR 1 (file not found)
     * @throws java.nio.file.AccessDeniedException when reading it is refused: ERROR 2
     * @throws IOException when it cannot be read now (origin down and nothing cached): ERROR 0
     *     with the message
     */
    OpenObject open(String key) throws IOException;

    /** One open object: its size and positioned reads. Closed once by the server. */
    interface OpenObject extends AutoCloseable {

        /** Size in bytes: the RFC 2349 {@code tsize} the server offers. */
        long size();

        /**
         * Reads bytes from {@code position} into {@code dst} until it is full or the object ends.
         * The server never touches {@code dst} until the future completes.
         *
         * @param position offset in bytes, 0 &lt;= position
         * @return the bytes read: fewer than {@code dst.remaining()} only at the end of the object;
         *     completes exceptionally with an {@link IOException} on a failed read
         */
        CompletableFuture<Integer> read(ByteBuffer dst, long position);

        /**
         * Reads what can be had at once, on the calling thread (a transfer's event loop), without
         * ever waiting for a device: for a local file, the part of the range in the page cache
         * ({@link dev.kura.io.IoFile#readIfCached}). The server tries this first and falls back to
         * {@link #read} for the rest; the default has nothing at once.
         *
         * @param dst where the bytes go, from its position to its limit (neither is changed)
         * @param position offset in bytes, 0 &lt;= position
         * @return bytes read, possibly fewer than asked; 0 at the end of the object; -1 when nothing
         *     can be had without waiting
         * @throws IOException when the read failed (the server then reads with {@link #read}, which reports it)
         */
        default int readNow(ByteBuffer dst, long position) throws IOException {
            return -1;
        }

        /** Releases the object; never throws. */
        @Override
        void close();
    }
}
