package dev.kura.io.internal;

import dev.kura.io.OpenFlag;

import java.util.EnumSet;
import java.util.Set;

/** Validation of {@link OpenFlag} sets, shared by the backends. */
public final class OpenFlags {
    private OpenFlags() {
    }

    /**
     * @throws IllegalArgumentException when neither READ nor WRITE is present, or CREATE/TRUNCATE
     *     come without WRITE
     */
    public static Set<OpenFlag> of(OpenFlag... flags) {
        EnumSet<OpenFlag> set = EnumSet.noneOf(OpenFlag.class);
        for (OpenFlag f : flags) {
            set.add(f);
        }
        if (!set.contains(OpenFlag.READ) && !set.contains(OpenFlag.WRITE)) {
            throw new IllegalArgumentException("open needs READ or WRITE, got " + set);
        }
        if (!set.contains(OpenFlag.WRITE)
                && (set.contains(OpenFlag.CREATE) || set.contains(OpenFlag.CREATE_NEW) || set.contains(OpenFlag.TRUNCATE))) {
            throw new IllegalArgumentException("CREATE, CREATE_NEW and TRUNCATE need WRITE, got " + set);
        }
        return set;
    }
}
