package dev.kura.cache.internal;

import dev.kura.cache.Cache;
import dev.kura.cache.CacheConfig;
import dev.kura.cache.CacheEntry;
import dev.kura.io.Backend;
import dev.kura.io.FileIo;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static dev.kura.cache.internal.TestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kills a writing child JVM with SIGKILL at random moments and checks, after each reopen, that
 * every entry served is byte-identical to a version some put started, that every put whose commit
 * returned (and was not followed by another operation on its key) is served, that every completed
 * delete stays deleted, that an entry's metadata is the one its last completed update wrote (or,
 * with an update cut short, the old or the new one), and that the accounting matches the files on disk.
 */
class CrashTest {
    @TempDir
    Path tmp;

    /** The default build's share: enough kills to cross every write phase a few times. */
    @ParameterizedTest
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void tenKillCycles(Backend backend) throws Exception {
        run(backend, 10, 7);
    }

    /** The thorough run ({@code -Pslow}). */
    @ParameterizedTest
    @Tag("slow")
    @MethodSource("dev.kura.cache.internal.TestSupport#backends")
    void fiftyKillCycles(Backend backend) throws Exception {
        run(backend, 50, 7);
    }

    @Test
    @Tag("slow")
    void fiveHundredKillCycles() throws Exception {
        run(Backend.NIO, 500, 11);
    }

    private void run(Backend backend, int cycles, long seed) throws Exception {
        Path dir = tmp.resolve("cache");
        Path journal = tmp.resolve("journal");
        Random rnd = new Random(seed);
        String java = ProcessHandle.current().info().command().orElseThrow();
        int servedTotal = 0;
        try (FileIo io = io(backend)) {
            for (int cycle = 0; cycle < cycles; cycle++) {
                String durability = rnd.nextInt(4) == 0 ? "FSYNC" : "NONE";
                Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:+AutoCreateSharedArchive",
                        "-XX:SharedArchiveFile=" + tmp.resolve("child.jsa"), "--enable-native-access=ALL-UNNAMED", CrashChild.class.getName(), dir.toString(),
                        journal.toString(), backend.configName(), durability, String.valueOf(seed * 100_000 + cycle), "6")
                        .redirectErrorStream(true).start();
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
                try {
                    StringBuilder before = new StringBuilder();
                    String line;
                    while ((line = out.readLine()) != null && !line.equals("READY")) {
                        before.append(line).append('\n');
                    }
                    assertThat(line).as("child did not start (cycle " + cycle + "): " + before).isEqualTo("READY");
                    Thread.sleep(30 + rnd.nextInt(250));
                    assertThat(p.isAlive()).as("child died by itself: " + drain(out)).isTrue();
                } finally {
                    p.destroyForcibly();
                    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                }
                servedTotal += verify(dir, journal, io);
            }
        }
        assertThat(servedTotal).as("entries checked over all cycles").isGreaterThan(cycles);
    }

    private static String drain(BufferedReader r) {
        StringBuilder sb = new StringBuilder();
        try {
            String l;
            while (r.ready() && (l = r.readLine()) != null) {
                sb.append(l).append('\n');
            }
        } catch (java.io.IOException ignored) {
            // diagnostics only
        }
        return sb.toString();
    }

    /** Returns how many entries were served and checked. */
    private static int verify(Path dir, Path journal, FileIo io) throws Exception {
        Map<String, Set<Long>> started = new HashMap<>();
        Map<String, Set<String>> revs = new HashMap<>(); // metadata updates started, by key
        Map<String, String> last = new HashMap<>(); // key -> last journal line
        // a SIGKILL can cut the last write(2) short (a fatal signal is checked between pages), so
        // only newline-terminated lines are events
        String text = Files.readString(journal);
        text = text.substring(0, text.lastIndexOf('\n') + 1);
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            if (f.length < 2) {
                continue;
            }
            if (f[0].equals("I") && f.length == 3) {
                started.computeIfAbsent(f[1], k -> new HashSet<>()).add(Long.parseLong(f[2]));
            }
            if (f[0].equals("M") && f.length == 3) {
                revs.computeIfAbsent(f[1], k -> new HashSet<>()).add(f[2]);
            }
            last.put(f[1], line);
        }
        int served = 0;
        CacheConfig cfg = new CacheConfig(dir, 64 << 20, 0, 1 << 20, 0, 0, null);
        try (Cache c = Cache.open(cfg, io)) {
            // serving while recovery runs: check half the keys before it ends
            List<String> keys = new ArrayList<>(last.keySet());
            for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) {
                    awaitRecovery(c);
                }
                for (int i = pass; i < keys.size(); i += 2) {
                    String k = keys.get(i);
                    Optional<CacheEntry> e = c.lookup(k);
                    String[] l = last.get(k).split(" ");
                    if (e.isPresent()) {
                        try (CacheEntry h = e.get()) {
                            long s = Long.parseLong(h.metadata().etag().replace("\"", ""));
                            assertThat(started.getOrDefault(k, Set.of())).as("version of " + k + " was put").contains(s);
                            assertThat(readAll(h)).as(k + " version " + s).isEqualTo(bytes(s, CrashChild.sizeOf(s)));
                            served++;
                            if (l[0].equals("D")) {
                                assertThat(s).as("last committed version of " + k).isEqualTo(Long.parseLong(l[2]));
                            }
                            // metadata: the old or the new, never anything else
                            String rev = h.metadata().headers().get("x-rev");
                            if (rev != null) {
                                assertThat(revs.getOrDefault(k, Set.of())).as("metadata update of " + k + " was started").contains(rev);
                            }
                            if (l[0].equals("m") && l[3].equals("true")) {
                                assertThat(rev).as("completed metadata update of " + k).isEqualTo(l[2]);
                            }
                        }
                        assertThat(l[0]).as(k + " was deleted but is served").isNotEqualTo("X");
                    } else {
                        // the cache is sized so that nothing is evicted: a completed put must survive
                        assertThat(l[0]).as(k + " was committed but is missing after the kill").isNotEqualTo("D");
                    }
                }
            }
            awaitRecovery(c);
            assertThat(c.stats().diskBytes()).isEqualTo(bytesOnDisk(dir));
            assertThat(c.stats().diskEntries()).isEqualTo(filesOnDisk(dir));
            try (var s = Files.list(dir.resolve("tmp"))) {
                assertThat(s.count()).as("temporary files removed").isZero();
            }
        }
        return served;
    }
}
