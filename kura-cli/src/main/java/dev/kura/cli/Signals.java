package dev.kura.cli;

/**
 * The POSIX signals the servers act on, each run on a platform thread of its own:
 * <ul>
 *   <li>SIGTERM and SIGINT ({@link #onStop}): a graceful stop, so that the command's main thread
 *       finishes it and returns exit status 0. Without this the JVM answers SIGTERM by running its
 *       shutdown hooks and exiting with 143 (128 + 15), which init systems and orchestrators report
 *       as a failure although the stop was asked for.</li>
 *   <li>SIGHUP ({@link #on}, {@code kura serve}): reload the config file.</li>
 * </ul>
 *
 * <p>Uses {@code sun.misc.Signal} (module jdk.unsupported, present in every JDK 25 build; the JDK
 * has no public signal API). Where a handler is refused, the JVM's default stands and the caller
 * keeps its other way (a shutdown hook, {@code POST /admin/reload}).
 */
final class Signals {
    private Signals() {
    }

    /**
     * Routes SIGTERM and SIGINT to {@code onStop}.
     *
     * @param onStop runs once per signal, on a new platform thread named {@code kura-SIGNAL};
     *     must be idempotent (a second Ctrl-C runs it again)
     * @return false where the signals cannot be handled here
     */
    static boolean onStop(Runnable onStop) {
        boolean term = on("TERM", onStop);
        boolean interrupt = on("INT", onStop);
        return term && interrupt;
    }

    /**
     * Runs {@code action} on each delivery of signal {@code name} ({@code TERM}, {@code HUP}...),
     * on a new platform thread named {@code kura-<name>}.
     *
     * @return false where this JVM refuses a handler for it (then its default action stands)
     */
    @SuppressWarnings("restriction")
    static boolean on(String name, Runnable action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> Thread.ofPlatform().name("kura-" + name).start(action));
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException refused) {
            return false;
        }
    }
}
