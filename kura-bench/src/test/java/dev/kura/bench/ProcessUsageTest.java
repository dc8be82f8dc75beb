package dev.kura.bench;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProcessUsageTest {

    @Test
    void parsesStatEvenWithParenthesesAndSpacesInTheName() {
        // fields 14 and 15 are 1234 and 567; the command name holds ") (" to trip a naive split
        String stat = "4242 (java) (x y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 40 0 99 "
                + "1000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assertThat(ProcessUsage.parseStatCpuTicks(stat)).containsExactly(1234, 567);
        assertThatThrownBy(() -> ProcessUsage.parseStatCpuTicks("garbage"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void parsesStatusContextSwitches() {
        String status = "Name:\tjava\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t17\n"
                + "nonvoluntary_ctxt_switches:\t3\n";
        assertThat(ProcessUsage.parseStatusCtxSwitches(status)).containsExactly(17, 3);
        assertThatThrownBy(() -> ProcessUsage.parseStatusCtxSwitches("Name:\tjava\n"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void getrusageRunsUnderTheTestJvmsNativeAccess() {
        // surefire passes --enable-native-access=ALL-UNNAMED, as the kura launcher does
        assertThat(ProcessUsage.nativeAvailable()).isTrue();
        assertThat(ProcessUsage.now().source()).isEqualTo("getrusage");
    }

    @Test
    void cpuBurnedOnAnotherThreadIsCounted() throws InterruptedException {
        ProcessUsage before = ProcessUsage.now();
        AtomicLong burned = new AtomicLong();
        Thread t = Thread.ofPlatform().start(() -> burned.set(burnCpu(100_000_000L)));
        t.join();
        ProcessUsage used = ProcessUsage.now().minus(before);
        // the whole process: at least the other thread's own CPU time, whatever the machine's load
        assertThat(burned.get()).isGreaterThanOrEqualTo(100_000_000L);
        assertThat(used.cpuNanos()).isGreaterThanOrEqualTo(burned.get() - 1_000_000L);
        assertThat(used.cpuMicrosPer(2)).isEqualTo(used.cpuNanos() / 1e3 / 2);
    }

    @Test
    void blockingOnAnotherThreadCountsVoluntarySwitches() throws InterruptedException {
        ProcessUsage before = ProcessUsage.now();
        Thread t = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 50; i++) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        t.join();
        ProcessUsage used = ProcessUsage.now().minus(before);
        // each sleep blocks the thread: at least one voluntary switch per sleep
        assertThat(used.voluntaryCtxSwitches()).isGreaterThanOrEqualTo(50);
        assertThat(used.ctxSwitchesPer(50)).isGreaterThanOrEqualTo(1.0);
    }

    @Test
    void procFallbackAgreesRoughly() {
        ProcessUsage proc = ProcessUsage.fromProc();
        ProcessUsage ru = ProcessUsage.now();
        assertThat(proc.source()).isEqualTo("proc");
        // /proc counts in 10 ms ticks and misses exited threads' switches: it can only be lower
        assertThat(proc.cpuNanos()).isLessThanOrEqualTo(ru.cpuNanos() + 20_000_000L);
        assertThat(proc.cpuNanos()).isGreaterThan(0);
        assertThat(proc.ctxSwitches()).isLessThanOrEqualTo(ru.ctxSwitches());
        assertThat(ProcessUsage.now().minus(ru).cpuMicrosPer(0)).isNaN();
    }

    /** Spins until this thread has used {@code nanos} of CPU; returns the thread's CPU time used. */
    private static long burnCpu(long nanos) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long start = mx.getCurrentThreadCpuTime();
        long x = 0;
        long used;
        while ((used = mx.getCurrentThreadCpuTime() - start) < nanos) {
            for (int i = 0; i < 10_000; i++) {
                x += x * 31 + 7;
            }
        }
        if (x == 42) {
            System.out.print("");
        }
        return used;
    }
}
