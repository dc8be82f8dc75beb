package dev.kura.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.kura.cli.config.KuraConfig;
import dev.kura.s3.ServeConfig;
import dev.kura.testing.Requires;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * deploy/kubernetes/ (issue 12 §4): every YAML document parses (Jackson YAML), and the fields that
 * must agree with kura do: the probes ask {@code /ready} and {@code /health} on the port the
 * ConfigMap's {@code serve.ops-listen} binds; the data port is {@code serve.listen}'s; the pods
 * run as non-root with a read-only root filesystem and the image's user; the cache volume is
 * mounted at {@code cache.dir}; the grace period covers drain-delay + shutdown-timeout; HAProxy's
 * checks take a draining pod out within the drain delay and its configuration names every replica.
 * The ConfigMap's kura.yaml is loaded by kura's own strict binder, and HAProxy's by
 * {@code haproxy -c} where Debian's haproxy is installed.
 */
class KubernetesManifestsTest {
    static final Path DIR = Path.of("..", "deploy", "kubernetes").toAbsolutePath().normalize();
    static final List<JsonNode> DOCS = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        YAMLMapper yaml = new YAMLMapper();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> it = yaml.readerFor(JsonNode.class).readValues(f.toFile())) {
                    while (it.hasNext()) {
                        JsonNode doc = it.next();
                        if (doc != null && !doc.isNull() && !doc.isEmpty()) {
                            assertThat(doc.path("apiVersion").asText()).as("apiVersion in %s", f).isNotEmpty();
                            assertThat(doc.path("metadata").path("name").asText()).as("name in %s", f).isNotEmpty();
                            DOCS.add(doc);
                        }
                    }
                }
            }
        }
    }

    static JsonNode one(String kind, String name) {
        return DOCS.stream().filter(d -> d.path("kind").asText().equals(kind)
                && d.path("metadata").path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name + " in " + DIR));
    }

    static JsonNode kuraContainer() {
        return one("StatefulSet", "kura").path("spec").path("template").path("spec").path("containers").get(0);
    }

    KuraConfig kuraYaml() throws IOException {
        Path f = tmp.resolve("kura.yaml");
        Files.writeString(f, one("ConfigMap", "kura-config").path("data").path("kura.yaml").asText());
        return KuraConfig.load(f);
    }

    static int port(String hostPort) {
        return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
    }

    static int containerPort(JsonNode container, String name) {
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals(name)) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError("no port " + name);
    }

    @Test
    void everyDocumentParsesAndTheExpectedObjectsAreThere() {
        assertThat(DOCS).extracting(d -> d.path("kind").asText() + "/" + d.path("metadata").path("name").asText())
                .contains("StatefulSet/kura", "Service/kura", "ConfigMap/kura-config", "ConfigMap/haproxy-config",
                        "Deployment/kura-haproxy", "Service/kura-s3");
    }

    @Test
    void probesAndPortsMatchTheConfigKuraLoads() throws Exception {
        ServeConfig serve = kuraYaml().serve();
        JsonNode c = kuraContainer();
        int ops = containerPort(c, "ops");
        assertThat(ops).isEqualTo(port(serve.opsListen())).isEqualTo(port(ServeConfig.DEFAULT_OPS_LISTEN));
        assertThat(serve.opsListen()).as("probes come from the kubelet, not loopback").startsWith("0.0.0.0:");
        assertThat(containerPort(c, "data")).isEqualTo(port(serve.listen())).isEqualTo(8080);
        assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/ready");
        assertThat(c.at("/readinessProbe/httpGet/port").asText()).isEqualTo("ops");
        assertThat(c.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/health");
        assertThat(c.at("/livenessProbe/httpGet/port").asText()).isEqualTo("ops");
        assertThat(c.path("args")).extracting(JsonNode::asText).containsExactly("serve", "--config", "/etc/kura/kura.yaml");
    }

    @Test
    void podsRunAsNonRootOnAReadOnlyRootWithTheCacheOnItsOwnVolume() throws Exception {
        JsonNode sts = one("StatefulSet", "kura");
        JsonNode pod = sts.at("/spec/template/spec");
        assertThat(pod.at("/securityContext/runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.at("/securityContext/runAsUser").asInt()).isEqualTo(65532);
        JsonNode c = kuraContainer();
        assertThat(c.at("/securityContext/readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(c.at("/securityContext/allowPrivilegeEscalation").asBoolean(true)).isFalse();
        String cacheDir = kuraYaml().cache().dir().toString();
        String claim = sts.at("/spec/volumeClaimTemplates/0/metadata/name").asText();
        List<String> mounts = new ArrayList<>();
        for (JsonNode m : c.path("volumeMounts")) {
            mounts.add(m.path("name").asText() + "@" + m.path("mountPath").asText());
        }
        assertThat(mounts).contains(claim + "@" + cacheDir, "config@/etc/kura", "tmp@/tmp");
        assertThat(sts.at("/spec/serviceName").asText()).isEqualTo("kura");
        JsonNode svc = one("Service", "kura");
        assertThat(svc.at("/spec/clusterIP").asText()).isEqualTo("None");
        assertThat(svc.at("/spec/selector")).isEqualTo(sts.at("/spec/template/metadata/labels"));
    }

    @Test
    void graceCoversTheDrainAndHaproxyNoticesWithinIt() throws Exception {
        ServeConfig serve = kuraYaml().serve();
        long grace = one("StatefulSet", "kura").at("/spec/template/spec/terminationGracePeriodSeconds").asLong();
        assertThat(grace).isGreaterThan(serve.drainDelay().plus(serve.shutdownTimeout()).toSeconds());
        String cfg = one("ConfigMap", "haproxy-config").at("/data/haproxy.cfg").asText();
        Matcher m = Pattern.compile("default-server inter (\\d+)s fall (\\d+)").matcher(cfg);
        assertThat(m.find()).as(cfg).isTrue();
        long inter = Long.parseLong(m.group(1));
        long fall = Long.parseLong(m.group(2));
        assertThat(serve.drainDelay().toSeconds()).as("drain-delay > inter x (fall + 1)")
                .isGreaterThan(inter * (fall + 1));
        assertThat(cfg).contains("balance uri path-only", "hash-type consistent", "option httpchk GET /ready",
                "check port " + port(serve.opsListen()));
        int replicas = one("StatefulSet", "kura").at("/spec/replicas").asInt();
        for (int i = 0; i < replicas; i++) {
            assertThat(cfg).contains("server kura-" + i + " kura-" + i + ".kura.");
        }
        assertThat(cfg).doesNotContain("server kura-" + replicas + " ");
    }

    @Test
    void haproxyAcceptsItsConfiguration() throws Exception {
        Path exe = Requires.tool("haproxy", "haproxy");
        Path cfg = tmp.resolve("haproxy.cfg");
        Files.writeString(cfg, one("ConfigMap", "haproxy-config").at("/data/haproxy.cfg").asText());
        Process p = new ProcessBuilder(exe.toString(), "-c", "-f", cfg.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("Configuration file is valid");
    }
}
