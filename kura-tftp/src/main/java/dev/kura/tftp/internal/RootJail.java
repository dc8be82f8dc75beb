package dev.kura.tftp.internal;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Objects;

/**
 * Resolves client file names inside the served root, and only there.
 *
 * <p>Rules, in order (each refusal is a {@link Refused} carrying the TFTP error code):
 * <ol>
 *   <li>a name with a {@code ..} segment is refused with ERROR 2, whatever it would resolve to;</li>
 *   <li>an absolute name is accepted only when it names a path under the root (the root's own
 *       spelling or its real path); other absolute names get ERROR 2;</li>
 *   <li>the name is resolved with {@link Path#toRealPath} (symlinks followed) and the result must
 *       still lie under the root's real path: a symlink pointing outside gets ERROR 2;</li>
 *   <li>a missing file gets ERROR 1, a directory or special file ERROR 2.</li>
 * </ol>
 * The file is then opened by its real path. A symlink swapped in between the check and the open
 * could still redirect the open; the root should not be writable by untrusted users.
 *
 * <p>Thread-safety: immutable, safe for concurrent use.
 */
public final class RootJail {

    private final Path root;
    private final Path realRoot;
    private final List<PathMatcher> writeAllow;
    private final List<String> writeAllowText;

    /** @throws IOException when the root does not exist or is not a directory */
    public RootJail(Path root, List<String> writeAllow) throws IOException {
        this.root = root.toAbsolutePath().normalize();
        this.realRoot = this.root.toRealPath();
        if (!Files.isDirectory(realRoot)) {
            throw new IOException("tftp root is not a directory: " + root);
        }
        this.writeAllowText = List.copyOf(writeAllow);
        this.writeAllow = writeAllow.stream().map(p -> FileSystems.getDefault().getPathMatcher("glob:" + p)).toList();
    }

    public Path realRoot() {
        return realRoot;
    }

    /** A refused name: the TFTP error code and the message for the client. */
    public static final class Refused extends Exception {
        private final int code;

        public Refused(int code, String message) {
            super(message, null, false, false);
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    /**
     * Resolves a name for an RRQ.
     *
     * @return the real path of an existing regular file under the root
     * @throws Refused ERROR 1 (missing), ERROR 2 (outside the root, traversal, not a regular file, unreadable)
     */
    public Path resolveRead(String name) throws Refused {
        Path candidate = candidate(name);
        Path real;
        try {
            real = candidate.toRealPath();
        } catch (NoSuchFileException e) {
            throw new Refused(Packets.ERR_FILE_NOT_FOUND, "file not found: " + name);
        } catch (AccessDeniedException e) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "access denied: " + name);
        } catch (IOException e) {
            throw new Refused(Packets.ERR_FILE_NOT_FOUND, "cannot resolve " + name + ": " + e.getMessage());
        }
        if (!real.startsWith(realRoot)) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "outside the tftp root: " + name);
        }
        if (!Files.isRegularFile(real)) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "not a regular file: " + name);
        }
        if (!Files.isReadable(real)) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "access denied: " + name);
        }
        return real;
    }

    /**
     * Resolves a name for a WRQ: it must match an allow pattern, its directory must exist under
     * the root (symlinks resolved), and the name itself must not be a symlink.
     *
     * @return the path to create, under the root's real path
     * @throws Refused ERROR 2 (not allowed, outside the root), ERROR 6 (exists and overwrite off),
     *     ERROR 1 (directory missing)
     */
    public Path resolveWrite(String name, boolean overwrite) throws Refused {
        Path candidate = candidate(name);
        Path relative = root.relativize(candidate);
        if (writeAllow.stream().noneMatch(m -> m.matches(relative))) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "writing " + name + " is not allowed (tftp.write.allow: " + writeAllowText + ")");
        }
        Path parent = candidate.getParent();
        Path realParent;
        try {
            realParent = Objects.requireNonNull(parent, "a candidate lies inside the root").toRealPath();
        } catch (NoSuchFileException e) {
            throw new Refused(Packets.ERR_FILE_NOT_FOUND, "directory not found for " + name);
        } catch (IOException e) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "cannot resolve " + name + ": " + e.getMessage());
        }
        if (!realParent.startsWith(realRoot) || !Files.isDirectory(realParent)) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "outside the tftp root: " + name);
        }
        Path target = realParent.resolve(candidate.getFileName());
        if (Files.isSymbolicLink(target)) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "refusing to write through a symlink: " + name);
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            if (!overwrite) {
                throw new Refused(Packets.ERR_FILE_EXISTS, "file already exists: " + name);
            }
            if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
                throw new Refused(Packets.ERR_ACCESS_VIOLATION, "not a regular file: " + name);
            }
        }
        return target;
    }

    /**
     * The jail's lexical rules for a name served from a {@link dev.kura.tftp.TftpSource} (a
     * bucket), where there is no directory to resolve in: a {@code ..} segment is refused, leading
     * {@code /} are dropped, an empty name or one with a NUL is refused.
     *
     * @return the object key
     * @throws Refused ERROR 2
     */
    public static String objectKey(String name) throws Refused {
        for (String seg : name.split("/", -1)) {
            if (seg.equals("..")) {
                throw new Refused(Packets.ERR_ACCESS_VIOLATION, "'..' is not allowed: " + name);
            }
        }
        String key = name;
        while (key.startsWith("/")) {
            key = key.substring(1);
        }
        if (key.isEmpty() || key.endsWith("/") || key.indexOf('\0') >= 0) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "not an object name: " + name);
        }
        return key;
    }

    /** The lexical checks shared by reads and writes: no '..', absolute only under the root. */
    private Path candidate(String name) throws Refused {
        String rel = name;
        if (name.startsWith("/")) {
            String r = root.toString();
            String rr = realRoot.toString();
            if (name.startsWith(r + "/")) {
                rel = name.substring(r.length() + 1);
            } else if (name.startsWith(rr + "/")) {
                rel = name.substring(rr.length() + 1);
            } else {
                throw new Refused(Packets.ERR_ACCESS_VIOLATION, "absolute path outside the tftp root: " + name);
            }
        }
        for (String seg : rel.split("/", -1)) {
            if (seg.equals("..")) {
                throw new Refused(Packets.ERR_ACCESS_VIOLATION, "'..' is not allowed: " + name);
            }
        }
        while (rel.startsWith("/")) {
            rel = rel.substring(1);
        }
        if (rel.isEmpty()) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "not a regular file: " + name);
        }
        Path p;
        try {
            p = root.resolve(rel).normalize();
        } catch (InvalidPathException e) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "invalid file name: " + name);
        }
        if (!p.startsWith(root) || p.equals(root)) {
            throw new Refused(Packets.ERR_ACCESS_VIOLATION, "outside the tftp root: " + name);
        }
        return p;
    }
}
