package dev.kura.tftp.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server's Micrometer meters. Prometheus names: {@code kura_tftp_transfers_active},
 * {@code kura_tftp_transfers_completed_total}, {@code kura_tftp_transfers_failed_total},
 * {@code kura_tftp_bytes_total{direction="read|write"}}, {@code kura_tftp_retransmissions_total},
 * {@code kura_tftp_buffer_bytes} (buffers held by transfers now),
 * {@code kura_tftp_requests_refused_total{reason=...}}.
 *
 * <p>Thread-safety: safe for concurrent use.
 */
final class TftpMetrics {

    final AtomicInteger active = new AtomicInteger();
    final AtomicLong bufferBytes = new AtomicLong();
    /** Largest number of buffer bytes one transfer held at once, over the server's life. */
    final AtomicLong peakTransferBytes = new AtomicLong();
    private final MeterRegistry registry;
    final Counter completed;
    final Counter failed;
    final Counter bytesRead;
    final Counter bytesWritten;
    final Counter retransmissions;

    TftpMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("kura.tftp.transfers.active", active, AtomicInteger::get)
                .description("TFTP transfers in progress").register(registry);
        Gauge.builder("kura.tftp.buffer.bytes", bufferBytes, AtomicLong::get)
                .description("Bytes of buffers held by TFTP transfers").baseUnit("bytes").register(registry);
        completed = Counter.builder("kura.tftp.transfers.completed").description("TFTP transfers finished successfully").register(registry);
        failed = Counter.builder("kura.tftp.transfers.failed").description("TFTP transfers that failed (timeout, error, refused after start)").register(registry);
        bytesRead = Counter.builder("kura.tftp.bytes").tag("direction", "read").baseUnit("bytes")
                .description("File bytes served by RRQ (acknowledged by the client)").register(registry);
        bytesWritten = Counter.builder("kura.tftp.bytes").tag("direction", "write").baseUnit("bytes")
                .description("File bytes received by WRQ").register(registry);
        retransmissions = Counter.builder("kura.tftp.retransmissions").description("Packets sent again after a timeout").register(registry);
    }

    void refused(String reason) {
        Counter.builder("kura.tftp.requests.refused").tag("reason", reason)
                .description("Requests answered with an ERROR before a transfer started").register(registry).increment();
    }

    void peak(long held) {
        peakTransferBytes.accumulateAndGet(held, Math::max);
    }
}
