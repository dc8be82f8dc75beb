package dev.kura.cli;

import dev.kura.io.Backend;
import dev.kura.io.BackendInfo;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code kura info}: which file I/O backend runs here and why, with the kernel's io_uring features and opcodes. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the file I/O backend chosen and why, the kernel version, and the io_uring features and opcodes found.")
public final class InfoCommand implements Callable<Integer> {

    @Option(names = "--backend", description = "auto, io_uring or nio (default: ${DEFAULT-VALUE})", defaultValue = "auto")
    String backend;

    @Override
    public Integer call() throws Exception {
        IoConfig config = IoConfig.defaults().withBackend(Backend.parse(backend));
        try (FileIo io = FileIo.create(config)) {
            BackendInfo i = io.info();
            System.out.println("kura 0.1.0 on Java " + Runtime.version() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
            System.out.println("kernel:    " + i.kernelRelease());
            System.out.println("requested: " + i.requested().configName());
            System.out.println("backend:   " + i.backend().configName());
            System.out.println("reason:    " + i.reason());
            if (i.backend() == Backend.IO_URING) {
                System.out.println("rings:     " + i.rings() + " x " + i.queueDepth() + " entries");
            } else {
                System.out.println("threads:   " + i.rings());
            }
            System.out.println("features:  " + (i.features().isEmpty() ? "-" : String.join(" ", i.features())));
            System.out.println("opcodes:   " + (i.opcodes().isEmpty() ? "-" : String.join(" ", i.opcodes())));
            if (!i.missingOpcodes().isEmpty()) {
                System.out.println("missing:   " + String.join(" ", i.missingOpcodes()));
            }
        }
        return 0;
    }
}
