package dev.kura.cli;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cli.config.KuraConfig;
import dev.kura.config.ConfigException;
import dev.kura.io.FileIo;
import dev.kura.io.IoConfig;
import dev.kura.s3.BucketConfig;
import dev.kura.s3.ClientConfig;
import dev.kura.s3.OriginCredentials;
import dev.kura.s3.ProxyServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.kura.s3.ServeConfig;
import dev.kura.s3.embedded.EmbeddedOrigin;
import dev.kura.s3.embedded.SampleData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code kura serve}: the read-only S3 caching proxy.
 *
 * <p>With {@code --config}, it serves the buckets of the file's {@code serve:} section. Without,
 * it starts a self-contained demo that needs no cloud account: an embedded S3-compatible origin
 * (S3Proxy on {@code <data-dir>/origin}) holding a sample bucket, and the proxy in front of it with
 * its cache in {@code <data-dir>/cache}; it prints URLs to try.
 *
 * <p>SIGHUP reloads the config file ({@link ProxyServer#reload}); so does {@code POST /admin/reload}
 * on the ops listener.
 *
 * <p>SIGTERM (or Ctrl-C) stops it gracefully: {@code /ready} turns 503, no new connections,
 * requests in flight get up to {@code serve.shutdown-timeout}, then the cache is closed cleanly and
 * the process exits with status 0 (a stop asked for is not a failure; the JVM's default for a
 * signal would be 143, which service managers count as one).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run the read-only S3 caching proxy. Without --config: a demo with an embedded S3 origin.")
public final class ServeCommand implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "kura.yaml with a serve: section")
    Path config;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "kura-data",
            description = "demo mode (no --config): where the embedded origin and the cache live (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8080",
            description = "demo mode (no --config): proxy address (default: ${DEFAULT-VALUE})")
    String listen;

    @Option(names = "--ops-listen", paramLabel = "HOST:PORT", defaultValue = ServeConfig.DEFAULT_OPS_LISTEN,
            description = "demo mode (no --config): address of /metrics, /health, /ready (default: ${DEFAULT-VALUE})")
    String opsListen;

    @Override
    public Integer call() throws Exception {
        KuraConfig kc;
        ServeConfig serve;
        EmbeddedOrigin origin = null;
        CacheConfig cacheConfig;
        try {
            if (config != null) {
                kc = KuraConfig.load(config);
                if (kc.serve() == null) {
                    System.err.println("kura: " + config + " has no serve: section (see docs/CONFIG.md)");
                    return 2;
                }
                serve = kc.serve();
                cacheConfig = kc.cache().toCacheConfig();
            } else {
                kc = KuraConfig.defaults();
                origin = EmbeddedOrigin.start(dataDir.resolve("origin"), "127.0.0.1", 0);
                SampleData.loadIfMissing(origin);
                SampleData.loadPrivateIfMissing(origin);
                OriginCredentials originKeys = OriginCredentials.ofStatic(EmbeddedOrigin.ACCESS_KEY,
                        EmbeddedOrigin.SECRET_KEY);
                BucketConfig sample = BucketConfig.builder().bucket(SampleData.BUCKET).endpoint(origin.endpoint())
                        .pathStyle(true).credentials(originKeys).defaultTtl(Duration.ofMinutes(5))
                        .access(BucketConfig.Access.PUBLIC).build();
                BucketConfig secret = sample.toBuilder().prefix(null).name(null).bucket(SampleData.PRIVATE_BUCKET)
                        .access(BucketConfig.Access.PRIVATE).build();
                ClientConfig demoClient = new ClientConfig(DEMO_ACCESS_KEY, DEMO_SECRET_KEY,
                        List.of(SampleData.BUCKET, SampleData.PRIVATE_BUCKET));
                serve = ServeConfig.builder().listen(listen).shutdownTimeout(Duration.ofSeconds(10)).accessLog(true)
                        .buckets(List.of(sample, secret)).clients(List.of(demoClient)).opsListen(opsListen).build();
                cacheConfig = CacheConfig.defaults(dataDir.resolve("cache"));
            }
        } catch (ConfigException e) {
            System.err.println(e.getMessage());
            return 2;
        }
        LogLevels.apply(kc.logging());
        IoConfig ioConfig = kc.io().toIoConfig();
        FileIo io = FileIo.create(ioConfig);
        Cache cache;
        ProxyServer server;
        try {
            cache = Cache.open(cacheConfig, io);
            // The process's one meter registry, handed to the server; its ops listener serves it.
            server = ProxyServer.start(serve, cache, kc.cache().sliceSizeBytes(),
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        } catch (Exception e) {
            io.close();
            if (origin != null) {
                origin.close();
            }
            throw e;
        }
        EmbeddedOrigin demoOrigin = origin;
        Runnable closeAll = () -> {
            server.close();
            cache.close();
            io.close();
            if (demoOrigin != null) {
                demoOrigin.close();
            }
        };
        // SIGTERM and SIGINT start the graceful stop on a thread of their own; this thread then
        // returns 0. The shutdown hook stays for other ways out (System.exit elsewhere).
        Thread stopper = new Thread(closeAll, "kura-shutdown");
        Runtime.getRuntime().addShutdownHook(stopper);
        boolean signals = Signals.onStop(server::close);
        if (config != null) {
            KuraConfig started = kc;
            Path file = config;
            server.reloadFrom(() -> reread(file, started));
        }
        if (!Signals.on("HUP", () -> server.reload("SIGHUP"))) {
            org.slf4j.LoggerFactory.getLogger(ServeCommand.class).warn(
                    "SIGHUP cannot be handled here; use POST /admin/reload on the ops listener");
        }
        if (origin != null) {
            printDemo(serve, server, origin);
        } else {
            System.out.println("kura serve: listening on " + serve.host() + ":" + server.port()
                    + (server.tls() == null ? "" : " (https, TLS by " + server.tls() + ")")
                    + " (transport " + server.transport() + ", " + serve.buckets().size() + " buckets), operations on "
                    + serve.opsHost() + ":" + server.opsPort());
        }
        server.awaitStop();
        if (signals) {
            try {
                Runtime.getRuntime().removeShutdownHook(stopper);
                closeAll.run();
            } catch (IllegalStateException shuttingDown) {
                // the JVM is already exiting (another signal or System.exit): the hook closes
            }
        }
        return 0;
    }

    /** The demo's access key: printed, and only for the loopback demo (never in a config). */
    static final String DEMO_ACCESS_KEY = "KURADEMOACCESSKEY000";
    static final String DEMO_SECRET_KEY = "kura-demo-secret-not-for-production";

    /**
     * The config file read again for a hot reload: its {@code serve:} section, which sections
     * that cannot change live ({@code cache}, {@code io}) differ from those the process started
     * with, and its {@code logging.levels} to apply once the reload is.
     */
    static dev.kura.s3.ConfigSource.Read reread(Path file, KuraConfig started) {
        KuraConfig now = KuraConfig.load(file);
        if (now.serve() == null) {
            throw new ConfigException(file.getFileName().toString(), 0, "serve", "the serve: section is gone", null);
        }
        List<String> restart = new java.util.ArrayList<>();
        if (!now.cache().equals(started.cache())) {
            restart.add("cache");
        }
        if (!now.io().equals(started.io())) {
            restart.add("io");
        }
        return new dev.kura.s3.ConfigSource.Read(now.serve(), restart, () -> LogLevels.apply(now.logging()));
    }

    private void printDemo(ServeConfig serve, ProxyServer server, EmbeddedOrigin origin) {
        String base = "http://" + serve.host() + ":" + server.port();
        String ops = "http://" + serve.opsHost() + ":" + server.opsPort();
        String b = base + "/" + SampleData.BUCKET;
        System.out.println("""
                kura serve: demo mode (no --config)
                  origin : embedded S3Proxy at %s, files in %s, bucket '%s'
                  cache  : %s
                  proxy  : %s  (transport %s)
                  ops    : %s  (/metrics, /health, /ready; not on the proxy port)

                Try (the first GET of an object is X-Cache: MISS, the next ones HIT):
                  curl -i %s/hello.txt
                  curl -i %s/data/info.json
                  curl -s -o /dev/null -w '%%{http_code} %%{size_download} bytes\\n' %s/blobs/random-5MiB.bin
                  curl -i -r 0-99 %s/blobs/random-5MiB.bin -o /dev/null
                  curl -s %s/metrics | grep kura_requests

                kura is an S3 endpoint too. Bucket '%s' is public; bucket '%s' needs the demo keys:
                  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_DEFAULT_REGION=us-east-1
                  aws --endpoint-url %s s3 ls
                  aws --endpoint-url %s s3 ls s3://%s --recursive
                  aws --endpoint-url %s s3 cp s3://%s/secret.txt -
                  curl "$(aws --endpoint-url %s s3 presign s3://%s/secret.txt --expires-in 300)"
                Ctrl-C stops it.""".formatted(origin.endpoint(), dataDir.resolve("origin").toAbsolutePath(),
                SampleData.BUCKET, dataDir.resolve("cache").toAbsolutePath(), base, server.transport(), ops,
                b, b, b, b, ops, SampleData.BUCKET, SampleData.PRIVATE_BUCKET, DEMO_ACCESS_KEY, DEMO_SECRET_KEY,
                base, base, SampleData.BUCKET, base, SampleData.PRIVATE_BUCKET, base, SampleData.PRIVATE_BUCKET));
        System.out.flush();
    }
}
