package dev.kura.cli;

import dev.kura.cli.config.KuraConfig;
import dev.kura.config.ConfigException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code kura check-config FILE}: validates a config file without starting anything. */
@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = "Validate a kura.yaml: unknown keys, wrong types and nonsense values are reported with their line.")
public final class CheckConfigCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE", description = "the config file")
    Path file;

    @Override
    public Integer call() {
        try {
            KuraConfig.load(file);
            System.out.println(file + ": ok");
            return 0;
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return 2;
        }
    }
}
