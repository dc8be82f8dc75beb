/**
 * kura's benchmarks ({@code kura bench ...}) and the parts every benchmark shares.
 *
 * <h2>How kura measures</h2>
 * Figures are ratios measured side by side in one run (absolute times drift on shared machines),
 * against a reference measured on the same file or server in the same run: fio for file I/O, the
 * NIO backend for io_uring. Beside ops/s, MB/s and p50/p95/p99 latency, every row reports CPU time
 * per operation and context switches per operation of the <em>whole</em> process, because that is
 * where an asynchronous backend wins or loses.
 *
 * <h2>Writing a new workload ({@code kura bench cache}, {@code serve}, {@code tftp}, ...)</h2>
 * <ol>
 *   <li>Write a picocli command class (see {@code dev.kura.bench.IoBenchCommand}, {@code kura bench io}, for the pattern:
 *       options {@code --quick}, {@code --json}, durations) and register it in
 *       {@code kura-cli}'s {@code BenchCommand} subcommands. Keep the workload code under
 *       {@code dev.kura.bench.internal.<workload>}.</li>
 *   <li>Drive the load with {@link dev.kura.bench.ClosedLoop#run}: N operations in flight over any
 *       asynchronous API returning {@code CompletableFuture}; it records each operation's latency
 *       in a {@link dev.kura.bench.LatencyRecorder} (HdrHistogram) and reads
 *       {@link dev.kura.bench.ProcessUsage} ({@code getrusage(RUSAGE_SELF)}) at both ends of the
 *       measured interval. For a load that is not a closed loop over futures (a UDP client, an
 *       external tool), use {@code LatencyRecorder} and {@code ProcessUsage} directly.</li>
 *   <li>For an external reference tool, run it as a process and parse its JSON as
 *       {@link dev.kura.bench.Fio} does with fio (wrk, an HTTP load tool, a TFTP client).</li>
 *   <li>Put each measurement in a {@link dev.kura.bench.BenchRow}, add rows to a
 *       {@link dev.kura.bench.BenchReport}, add ratios against the reference rows with
 *       {@link dev.kura.bench.BenchReport#addRatio}, and print it with
 *       {@link dev.kura.bench.BenchReport#printText} or, with {@code --json},
 *       {@link dev.kura.bench.BenchReport#toJson()} (one JSON array, one object per row).</li>
 *   <li>A part that cannot start (a backend, a tool) becomes a row made with
 *       {@link dev.kura.bench.BenchRow#failed}, saying why; the benchmark goes on.</li>
 * </ol>
 * Benchmarks live here and in {@code kura bench}, never in timed unit tests. Tests of a benchmark
 * check that it runs and reports every row (with tiny durations), not how fast anything is.
 */
package dev.kura.bench;
