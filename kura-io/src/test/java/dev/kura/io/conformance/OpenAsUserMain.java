package dev.kura.io.conformance;

import dev.kura.io.FileIo;
import dev.kura.io.IoException;
import dev.kura.io.IoFile;
import dev.kura.io.OpenFlag;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Child-JVM main for the EACCES test, run as an unprivileged user through {@code setpriv}: prints
 * its real uid, then opens each {@code path:FLAG+FLAG} argument through {@link FileIo} and prints
 * {@code OPENED <path>} or {@code ERRNO <name> <path-from-exception>}.
 *
 * <p>Arguments: the encoded {@link dev.kura.io.IoConfig} ({@link ChildJvm#encode}), then the opens.
 */
public final class OpenAsUserMain {
    private OpenAsUserMain() {
    }

    public static void main(String[] args) throws Exception {
        String uid = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).findFirst().orElse("Uid: ?").split("\\s+")[1];
        System.out.println("UID " + uid);
        try (FileIo io = FileIo.create(ChildJvm.decode(args[0]))) {
            System.out.println("BACKEND " + io.backend());
            for (int i = 1; i < args.length; i++) {
                int colon = args[i].lastIndexOf(':');
                Path path = Path.of(args[i].substring(0, colon));
                String[] names = args[i].substring(colon + 1).split("\\+");
                OpenFlag[] flags = new OpenFlag[names.length];
                for (int k = 0; k < names.length; k++) {
                    flags[k] = OpenFlag.valueOf(names[k]);
                }
                try (IoFile f = io.open(path, flags)) {
                    System.out.println("OPENED " + f.path());
                } catch (IoException e) {
                    System.out.println("ERRNO " + e.errno() + " " + e.path());
                }
            }
        }
    }
}
