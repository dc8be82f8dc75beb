package dev.kura.cache;

import org.jspecify.annotations.Nullable;

import java.io.IOException;

/**
 * A fill ended without producing the bytes a reader waited for: the leader cancelled it, the
 * cache refused the object, the origin stream broke, or the disk failed. Followers that see it
 * have received no wrong bytes; they cut their response or fetch the rest from the origin.
 */
public class FillFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    public FillFailedException(String message) {
        super(message);
    }

    public FillFailedException(String message, @Nullable Throwable cause) {
        super(message, cause);
    }
}
