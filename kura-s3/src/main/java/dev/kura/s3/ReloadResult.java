package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.util.List;

/**
 * The outcome of one hot reload ({@link ProxyServer#reload}); {@code POST /admin/reload} answers
 * it as JSON.
 *
 * @param outcome what happened
 * @param error why the file was refused ({@code file:line: key: message}), or null
 * @param restartNeeded keys whose new value differs from the running one but cannot change without
 *     a restart ({@code serve.listen}, {@code serve.ops-listen}, {@code serve.transport}, {@code cache}...):
 *     the running value stays until the process restarts
 * @param added names of the buckets the reload added
 * @param removed names of the buckets it removed (their origin clients drain, then close)
 * @param changed names of the buckets whose settings changed (a new origin client; the old one
 *     drains, then closes)
 *
 * <p>Thread-safety: immutable.
 */
public record ReloadResult(Outcome outcome, @Nullable String error, List<String> restartNeeded, List<String> added,
                           List<String> removed, List<String> changed) {

    /** What a reload did. */
    public enum Outcome {
        /** The new configuration is in force for every request that starts from now on. */
        APPLIED,
        /** The file failed validation (or could not be read); the running configuration stays. */
        REFUSED,
        /** There is nothing to reload from (the demo runs without a config file). */
        UNAVAILABLE
    }

    public ReloadResult {
        restartNeeded = List.copyOf(restartNeeded);
        added = List.copyOf(added);
        removed = List.copyOf(removed);
        changed = List.copyOf(changed);
    }

    /** A reload that changed nothing: {@code outcome} is {@link Outcome#REFUSED} or {@link Outcome#UNAVAILABLE}. */
    public static ReloadResult notApplied(Outcome outcome, @Nullable String error) {
        return new ReloadResult(outcome, error, List.of(), List.of(), List.of(), List.of());
    }
}
