package dev.kura.cache;

import java.io.IOException;

/**
 * An entry whose bytes failed their checks (CRC32C of a block, header, length) when read. The
 * cache has already removed it when this is thrown; callers treat it as a miss.
 */
public class CorruptEntryException extends IOException {
    private static final long serialVersionUID = 1L;

    public CorruptEntryException(String message) {
        super(message);
    }
}
