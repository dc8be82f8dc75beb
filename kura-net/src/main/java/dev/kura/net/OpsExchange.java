package dev.kura.net;

import org.jspecify.annotations.Nullable;

import java.nio.charset.StandardCharsets;

/**
 * One request on the operations listener ({@link OpsServer}) and its one answer. Every answer
 * carries {@code Content-Length} and {@code Cache-Control: no-store}; a HEAD answer has the headers
 * of the GET answer and no body; a request that did not ask for keep-alive gets
 * {@code Connection: close}.
 *
 * <p>Thread-safety: the answer may be sent from any thread (Netty queues the write on the
 * channel's event loop); only the first answer is sent, later ones are ignored.
 */
public interface OpsExchange {
    /** Content type of plain-text answers. */
    String TEXT = "text/plain; charset=utf-8";

    /** The request method as sent: {@code GET}, {@code POST}, ... */
    String method();

    /** The decoded path, without the query. */
    String path();

    /** The first value of query parameter {@code name}, or null when absent. */
    @Nullable String parameter(String name);

    /** The first value of request header {@code name} (case-insensitive), or null when absent. */
    @Nullable String header(String name);

    /** The client's address, for logs. */
    String remote();

    /**
     * Answers {@code status} with {@code body}.
     *
     * @param status the HTTP status code (RFC 9110 section 15)
     * @param extraHeaders further header names and values, alternating
     */
    void send(int status, String contentType, byte[] body, String... extraHeaders);

    /** Answers {@code body} as UTF-8 plain text. */
    default void text(int status, String body) {
        send(status, TEXT, body.getBytes(StandardCharsets.UTF_8));
    }

    /** Answers 405 Method Not Allowed with {@code Allow: allow} (e.g. {@code GET, HEAD}), RFC 9110 15.5.6. */
    default void notAllowed(String allow) {
        send(405, TEXT, ("use " + allow + "\n").getBytes(StandardCharsets.UTF_8), "Allow", allow);
    }
}
