package dev.kura.cli;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import dev.kura.cli.config.LoggingSection;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * Puts {@code logging.levels} in force on Logback's loggers, at start and on each hot reload.
 *
 * <p>A logger set by a previous call and absent from this one gets its level from before kura
 * touched it (usually none: it inherits again), so removing a line from the file undoes it.
 *
 * <p>Thread-safety: {@code synchronized}; reloads are rare.
 */
final class LogLevels {
    private static final org.slf4j.Logger log = LoggerFactory.getLogger(LogLevels.class);
    /** The levels loggers had before kura first set them (null: inherited). */
    @GuardedBy("LogLevels.class")
    private static final Map<String, Level> ORIGINAL = new HashMap<>();

    private LogLevels() {
    }

    /** Applies {@code section}; does nothing where the SLF4J backend is not Logback. */
    static synchronized void apply(LoggingSection section) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            if (!section.levels().isEmpty()) {
                log.warn("logging.levels ignored: the logging backend is not Logback");
            }
            return;
        }
        for (var it = ORIGINAL.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!section.levels().containsKey(e.getKey())) {
                ctx.getLogger(e.getKey()).setLevel(e.getValue());
                it.remove();
            }
        }
        section.levels().forEach((name, level) -> {
            Logger l = ctx.getLogger(name);
            if (!ORIGINAL.containsKey(name)) {
                ORIGINAL.put(name, l.getLevel());
            }
            l.setLevel(Level.toLevel(level.name()));
        });
        if (!section.levels().isEmpty()) {
            log.info("log levels: {}", section.levels());
        }
    }
}
