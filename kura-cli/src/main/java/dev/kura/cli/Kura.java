package dev.kura.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code kura} command. Each subcommand lives in its own class; this one only wires them.
 *
 * <p>Exit codes: 0 success, 1 failure at run time, 2 bad usage or configuration.
 */
@Command(name = "kura", mixinStandardHelpOptions = true, version = "kura 0.1.0",
        description = "Serves objects fast from local disk: io_uring file I/O, a crash-safe disk cache,"
                + " an S3 caching proxy and a TFTP server.",
        subcommands = {InfoCommand.class, ServeCommand.class, TftpCommand.class, CheckConfigCommand.class, BenchCommand.class,
                PrewarmCommand.class,
                JvmOptionsCommand.class, CommandLine.HelpCommand.class})
public final class Kura implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured picocli command line; tests run it in-process. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Kura());
        // enum options (prewarm --progress bar|lines|auto) take the names in any case
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException
                || e instanceof IllegalArgumentException ? 2 : 1);
        cl.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            cmd.getErr().println("kura: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return cmd.getExitCodeExceptionMapper().getExitCode(e);
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
