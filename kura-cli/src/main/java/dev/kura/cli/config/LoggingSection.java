package dev.kura.cli.config;

import java.util.Map;

/**
 * The {@code logging:} section of {@code kura.yaml}: log levels by logger name, applied at start
 * and again on every hot reload of {@code kura serve} (docs/CONFIG.md, docs/OPERATIONS.md).
 *
 * <p>Why in kura.yaml: an operator chasing a problem turns one logger up (say
 * {@code dev.kura.s3: DEBUG}) with a reload, and down again, without a restart. The root level and
 * where lines go stay Logback's ({@code KURA_LOG_LEVEL}, logback.xml).
 *
 * @param levels logger name (a package or class, or {@code kura.access}) to level; a logger that
 *     leaves the map on a reload goes back to inheriting its parent's level
 *
 * <p>Thread-safety: immutable.
 */
public record LoggingSection(Map<String, Level> levels) {

    /** A level, as Logback has them. */
    public enum Level {
        TRACE, DEBUG, INFO, WARN, ERROR, OFF
    }

    public LoggingSection {
        levels = levels == null ? Map.of() : Map.copyOf(levels);
        for (String name : levels.keySet()) {
            if (name.isBlank()) {
                throw new IllegalArgumentException("levels: a logger name must not be empty");
            }
        }
    }

    /** No levels set. */
    public static LoggingSection defaults() {
        return new LoggingSection(Map.of());
    }
}
