package dev.kura.cli;

/**
 * Routes SIGTERM and SIGINT to a graceful stop run on a thread of its own, so that the command's
 * main thread can finish the stop and return exit status 0. Without this the JVM answers SIGTERM by
 * running its shutdown hooks and exiting with 143 (128 + 15), which init systems and orchestrators
 * report as a failure although the stop was asked for.
 *
 * <p>Uses {@code sun.misc.Signal} (jdk.unsupported, present in every JDK 25 build); where it is
 * refused, the caller keeps its shutdown hook as the way out.
 */
final class StopSignals {
    private StopSignals() {
    }

    /**
     * @param onStop runs once per signal, on a new platform thread named {@code kura-stop-<SIG>};
     *     must be idempotent (a second Ctrl-C runs it again)
     * @return false where signals cannot be handled here (then the JVM's default stands)
     */
    @SuppressWarnings("restriction")
    static boolean route(Runnable onStop) {
        try {
            sun.misc.SignalHandler h = sig -> Thread.ofPlatform().name("kura-stop-" + sig.getName()).start(onStop);
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), h);
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), h);
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            return false;
        }
    }
}
