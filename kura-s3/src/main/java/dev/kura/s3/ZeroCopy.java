package dev.kura.s3;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/**
 * Which cache hits go to a plain-HTTP client without being copied through kura
 * ({@code serve.zero-copy}): as file regions that the kernel sends from the file's pages
 * ({@code sendfile(2)} on the epoll and NIO transports, {@code splice(2)} through a pipe on
 * io_uring). A TLS listener always copies (the bytes must be encrypted in user space).
 *
 * <p>Written {@code off}, {@code memory} or {@code all} in {@code kura.yaml}; the booleans of
 * earlier versions still mean {@code off} ({@code false}) and {@code all} ({@code true}).
 *
 * <p>Thread-safety: immutable.
 */
public enum ZeroCopy {
    /** Every hit is copied into the socket. */
    OFF,
    /**
     * Memory-tier hits of 64 KiB or more go out from the tier's memory files (checked when they
     * entered the tier, so a send costs no check); disk hits are copied.
     */
    MEMORY,
    /**
     * {@link #MEMORY}, and disk-tier hits whose blocks are in the page cache go out from the entry
     * file after each block is read and checked against its CRC32C (the check is the cost).
     */
    ALL;

    /** Whether memory-tier hits go out as regions of the tier's memory files. */
    public boolean memory() {
        return this != OFF;
    }

    /** Whether disk-tier hits go out as checked regions of their entry files. */
    public boolean disk() {
        return this == ALL;
    }

    /** The name as written in {@code kura.yaml}: {@code off}, {@code memory}, {@code all}. */
    @JsonValue
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a {@code kura.yaml} value: {@code off}/{@code false}, {@code memory},
     * {@code all}/{@code true}, in any case.
     *
     * @throws IllegalArgumentException naming the accepted values for anything else
     */
    @JsonCreator
    public static ZeroCopy parse(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "off", "false" -> OFF;
            case "memory" -> MEMORY;
            case "all", "true" -> ALL;
            default -> throw new IllegalArgumentException("zero-copy must be off, memory or all (or false/true), was '"
                    + v + "'");
        };
    }
}
