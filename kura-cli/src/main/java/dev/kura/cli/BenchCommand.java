package dev.kura.cli;

import dev.kura.bench.CacheBenchCommand;
import dev.kura.bench.IoBenchCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kura bench ...}: the benchmarks; each workload is a subcommand. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run a benchmark and print its table (or JSON with --json).",
        subcommands = {IoBenchCommand.class, CacheBenchCommand.class, dev.kura.bench.tftp.TftpBench.class})
public final class BenchCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
