package dev.kura.net;

/**
 * One path of the operations listener ({@link OpsServer}): reads the request from the
 * {@link OpsExchange} and answers it exactly once through it.
 *
 * <p>Plain routes run on the listener's event loop and must not block; admin routes run on a
 * virtual thread after the bearer-token check, and may block (disk, origin calls).
 */
@FunctionalInterface
public interface OpsRoute {
    /**
     * Answers one request.
     *
     * @param exchange the request and its one answer
     * @throws Exception anything: the listener answers 500 and logs it (rate-limited)
     */
    void handle(OpsExchange exchange) throws Exception;
}
