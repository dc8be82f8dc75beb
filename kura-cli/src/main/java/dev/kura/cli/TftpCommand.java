package dev.kura.cli;

import dev.kura.cli.config.KuraConfig;
import dev.kura.cache.Cache;
import dev.kura.io.FileIo;
import dev.kura.net.OpsServer;
import dev.kura.s3.CachedBucket;
import dev.kura.tftp.TftpConfig;
import dev.kura.tftp.TftpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code kura tftp}: the TFTP server. Settings come from the {@code tftp:} section of the config
 * file; {@code --root} and {@code --listen} override it. With {@code tftp.source} (a bucket) the
 * files are objects read through the cache of the {@code cache:} section. With {@code tftp.metrics-listen}
 * set, an operations listener (kura-net's {@link OpsServer}, as {@code kura serve}'s) serves the
 * process's one registry at {@code /metrics} (Prometheus text), {@code /health} and {@code /live}
 * (200 while serving) and {@code /ready} (200 {@code READY}, 503 {@code DRAINING} once a stop began).
 */
@Command(name = "tftp", mixinStandardHelpOptions = true,
        description = "Serve a directory over TFTP (RFC 1350, 2347, 2348, 2349, 7440). Port 69 needs root.")
public final class TftpCommand implements Callable<Integer> {

    @Option(names = "--root", description = "directory to serve (overrides tftp.root)")
    Path root;

    @Option(names = "--config", description = "kura.yaml with a tftp: section")
    Path config;

    @Option(names = "--listen", description = "host:port to listen on, repeatable (overrides tftp.listen; default [::]:69)")
    List<String> listen;

    @Override
    public Integer call() throws Exception {
        KuraConfig kc;
        try {
            kc = config != null ? KuraConfig.load(config) : KuraConfig.defaults();
        } catch (dev.kura.config.ConfigException e) {
            // Bad configuration is bad usage: exit code 2, like check-config.
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        TftpConfig tc = kc.tftp();
        if (root != null) {
            tc = tc.withRoot(root.toString()).withSource(null);
        }
        if (listen != null && !listen.isEmpty()) {
            tc = tc.withListen(listen);
        }
        if (tc.root() == null && tc.source() == null) {
            throw new IllegalArgumentException("no root: give --root DIR or set tftp.root or tftp.source");
        }
        if (tc.root() != null && tc.source() != null) {
            throw new IllegalArgumentException("tftp.root and tftp.source are both set: serve one of them");
        }
        dev.kura.s3.BucketConfig bucket = tc.source() != null ? BucketTftpSource.bucketConfig(tc.source()) : null;
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        OpsServer ops = null;
        java.util.concurrent.atomic.AtomicBoolean draining = new java.util.concurrent.atomic.AtomicBoolean();
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        // SIGTERM / Ctrl-C: let the main thread close the server (transfers end, temporary files
        // of unfinished uploads are deleted) and return 0; the shutdown hook covers other ways out
        // (System.exit elsewhere), waiting for the close up to 10 s.
        Signals.onStop(stop::countDown);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                stopped.await(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "kura-tftp-shutdown"));
        try (FileIo io = FileIo.create(kc.io().toIoConfig());
             Cache cache = bucket != null ? Cache.open(kc.cache().toCacheConfig(), io) : null;
             CachedBucket objects = bucket != null ? new CachedBucket(bucket, cache) : null;
             TftpServer server = bucket != null
                     ? TftpServer.start(tc, io, registry, new BucketTftpSource(Objects.requireNonNull(objects), "bucket " + bucket.bucket()))
                     : TftpServer.start(tc, io, registry)) {
            if (tc.metricsListen() != null) {
                InetSocketAddress a = TftpConfig.parseHostPort(tc.metricsListen(), "tftp.metrics-listen");
                ops = OpsServer.builder(registry)
                        .readiness(() -> draining.get() ? OpsServer.Readiness.notReady("DRAINING\n") : OpsServer.Readiness.READY)
                        .adminToken(() -> null, "kura tftp has no admin API")
                        .transport(server.transport())
                        .bind(a.isUnresolved() ? new InetSocketAddress(a.getHostString(), a.getPort()) : a);
                System.err.println("kura tftp: operations listener at http://"
                        + ops.address().getHostString() + ":" + ops.port() + " (/metrics, /health, /live, /ready)");
            }
            // Pay class loading and first-use costs now, not on a real client's first RRQ.
            server.warmUp();
            System.err.println("kura tftp: serving " + (bucket != null ? "bucket " + bucket.bucket() + " (cache "
                    + kc.cache().toCacheConfig().dir() + ")" : tc.root()) + " on " + server.addresses() + " (transport "
                    + server.transport() + ", file I/O: " + io.backend().configName() + ")");
            stop.await();
            draining.set(true);
        } finally {
            if (ops != null) {
                ops.close();
            }
            stopped.countDown();
        }
        return 0;
    }
}
