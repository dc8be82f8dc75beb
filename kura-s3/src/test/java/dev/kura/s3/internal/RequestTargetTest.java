package dev.kura.s3.internal;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** RFC 9112 section 3.2 (Host) and 3.2.2 (absolute-form) decisions, without sockets. */
class RequestTargetTest {
    static final InetSocketAddress V4 = new InetSocketAddress("127.0.0.1", 8080);
    static final InetSocketAddress V6 = new InetSocketAddress("::1", 8080);

    @Test
    void originFormNeedsExactlyOneHostOnHttp11() {
        assertThat(RequestTarget.decide("/a/b", true, List.of("x"), V4).originForm()).isEqualTo("/a/b");
        assertThat(RequestTarget.decide("/a/b", true, List.of(), V4).status()).isEqualTo(400);
        assertThat(RequestTarget.decide("/a/b", true, List.of("x", "x"), V4).status()).isEqualTo(400);
        assertThat(RequestTarget.decide("/a/b", false, List.of(), V4).routed()).isTrue();
        assertThat(RequestTarget.decide("/a/b", true, List.of("bad host"), V4).status()).isEqualTo(400);
    }

    @Test
    void absoluteFormIsRoutedByPathForOwnAuthoritiesOnly() {
        assertThat(RequestTarget.decide("http://127.0.0.1:8080/s/k?x=1", true, List.of("y"), V4).originForm())
                .isEqualTo("/s/k?x=1");
        assertThat(RequestTarget.decide("HTTP://LOCALHOST:8080/s/k", true, List.of("y"), V4).originForm())
                .isEqualTo("/s/k");
        assertThat(RequestTarget.decide("http://[::1]:8080/s/k", true, List.of("y"), V6).originForm()).isEqualTo("/s/k");
        assertThat(RequestTarget.decide("http://127.0.0.1:8080", true, List.of("y"), V4).originForm()).isEqualTo("/");
        assertThat(RequestTarget.decide("http://127.0.0.1:9999/s/k", true, List.of("y"), V4).status()).isEqualTo(421);
        assertThat(RequestTarget.decide("http://127.0.0.1/s/k", true, List.of("y"), V4).status())
                .as("no port means 80").isEqualTo(421);
        assertThat(RequestTarget.decide("http://example.com:8080/s/k", true, List.of("y"), V4).status()).isEqualTo(421);
        assertThat(RequestTarget.decide("https://127.0.0.1:8080/s/k", true, List.of("y"), V4).status()).isEqualTo(421);
        assertThat(RequestTarget.decide("http://user@127.0.0.1:8080/s", true, List.of("y"), V4).status()).isEqualTo(400);
        assertThat(RequestTarget.decide("http:///s", true, List.of("y"), V4).status()).isEqualTo(400);
    }
}
