package dev.kura.cache.internal;

import dev.kura.io.Errno;
import dev.kura.io.IoException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/** {@link Fs} over {@link java.nio.file.Files}. Thread-safety: stateless, safe. */
public final class NioFs implements Fs {

    public static final NioFs INSTANCE = new NioFs();

    private NioFs() {
    }

    @Override
    public void mkdirs(Path dir) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw translate(e, dir, "mkdir");
        }
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw translate(e, to, "rename");
        }
    }

    @Override
    public boolean unlink(Path file) throws IOException {
        try {
            return Files.deleteIfExists(file);
        } catch (IOException e) {
            throw translate(e, file, "unlink");
        }
    }

    @Override
    public List<String> list(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                out.add(p.getFileName().toString());
            }
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw translate(e, dir, "list");
        }
        return out;
    }


    @Override
    public void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw translate(e, dir, "fsync");
        }
    }

    @Override
    public AutoCloseable lock(Path file) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw translate(e, file, "open");
        }
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (IOException | java.nio.channels.OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new IoException(Errno.EAGAIN.value(), file, "lock",
                    "cache directory is in use by another kura process or cache instance", null);
        }
        FileLock held = lock;
        return () -> {
            held.release();
            ch.close();
        };
    }

    static IoException translate(IOException e, Path path, String op) {
        if (e instanceof IoException io) {
            return io;
        }
        Errno errno;
        if (e instanceof NoSuchFileException) {
            errno = Errno.ENOENT;
        } else if (e instanceof AccessDeniedException) {
            errno = Errno.EACCES;
        } else {
            String r = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : String.valueOf(e.getMessage());
            errno = r.contains("No space") ? Errno.ENOSPC
                    : r.contains("Read-only") ? Errno.EROFS
                    : r.contains("Permission denied") ? Errno.EACCES
                    : r.contains("Not a directory") ? Errno.ENOTDIR
                    : r.contains("Is a directory") ? Errno.EISDIR
                    : r.contains("not empty") ? Errno.EEXIST
                    : Errno.EIO;
        }
        return new IoException(errno.value(), path, op, null, e);
    }
}
