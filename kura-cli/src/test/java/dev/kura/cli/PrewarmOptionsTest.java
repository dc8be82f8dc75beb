package dev.kura.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code kura prewarm --progress} takes bar, lines or auto, in any case, and nothing else. */
class PrewarmOptionsTest {

    private static PrewarmCommand parse(String... progress) {
        CommandLine cl = Kura.commandLine();
        String[] args = new String[4 + progress.length];
        args[0] = "prewarm";
        args[1] = "--config";
        args[2] = "kura.yaml";
        System.arraycopy(progress, 0, args, 3, progress.length);
        args[args.length - 1] = "s3://b/p";
        CommandLine.ParseResult r = cl.parseArgs(args);
        return (PrewarmCommand) r.subcommand().commandSpec().userObject();
    }

    @Test
    void progressModes() {
        assertThat(parse().progressMode).isEqualTo(PrewarmCommand.Progress.AUTO);
        assertThat(parse("--progress", "bar").progressMode).isEqualTo(PrewarmCommand.Progress.BAR);
        assertThat(parse("--progress", "LINES").progressMode).isEqualTo(PrewarmCommand.Progress.LINES);
        assertThatThrownBy(() -> parse("--progress", "fancy")).isInstanceOf(CommandLine.ParameterException.class);
    }
}
