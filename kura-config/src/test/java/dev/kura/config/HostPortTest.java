package dev.kura.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class HostPortTest {
    @Test
    void hostNameV4V6AndAnyInterface() {
        assertThat(HostPort.parse("localhost:8080", "listen")).isEqualTo(new HostPort("localhost", 8080));
        assertThat(HostPort.parse("127.0.0.1:0", "listen")).isEqualTo(new HostPort("127.0.0.1", 0));
        assertThat(HostPort.parse("[::1]:6970", "tftp.listen")).isEqualTo(new HostPort("::1", 6970));
        HostPort any = HostPort.parse(":69", "tftp.listen");
        assertThat(any.anyInterface()).isTrue();
        assertThat(any.unresolved()).isEqualTo(new InetSocketAddress(69));
        assertThat(any.unresolved().getAddress().isAnyLocalAddress()).isTrue();
    }

    @Test
    void aNamedHostIsNotResolvedUntilBound() {
        InetSocketAddress a = HostPort.parse("kura.invalid:53", "listen").unresolved();
        assertThat(a.isUnresolved()).isTrue();
        assertThat(a.getHostString()).isEqualTo("kura.invalid");
        assertThat(a.getPort()).isEqualTo(53);
    }

    @Test
    void printsWhatItParses() {
        for (String s : new String[] {"0.0.0.0:8080", "[::]:69", ":6969", "example.org:1"}) {
            assertThat(HostPort.parse(s, "k").toString()).isEqualTo(s);
        }
    }

    @Test
    void malformedTextNamesTheKeyAndTheText() {
        assertThatThrownBy(() -> HostPort.parse("nohost", "tftp.listen")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tftp.listen").hasMessageContaining("'nohost'");
        assertThatThrownBy(() -> HostPort.parse("localhost:", "listen")).hasMessageContaining("listen must be host:port");
        assertThatThrownBy(() -> HostPort.parse("localhost:http", "listen")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> HostPort.parse("a:65536", "listen")).hasMessageContaining("0..65535, was 65536");
        assertThatThrownBy(() -> HostPort.parse("a:-1", "listen")).hasMessageContaining("0..65535, was -1");
        assertThatThrownBy(() -> HostPort.parse("::1:80", "listen")).hasMessageContaining("needs brackets");
        assertThatThrownBy(() -> new HostPort("h", 70000)).isInstanceOf(IllegalArgumentException.class);
    }
}
