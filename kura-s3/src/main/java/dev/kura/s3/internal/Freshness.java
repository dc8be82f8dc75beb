package dev.kura.s3.internal;

import org.jspecify.annotations.Nullable;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * Freshness of an origin response (RFC 9111 sections 3 and 4.2.1) as a shared cache sees it.
 *
 * <p>{@code no-store} and {@code private} responses are not stored (RFC 9111 5.2.2.5, 5.2.2.7).
 * The freshness lifetime is {@code s-maxage}, else {@code max-age}, else the bucket's default TTL
 * (a heuristic lifetime, 4.2.2). {@code no-cache} stores the response with a zero lifetime, so
 * every use revalidates it (5.2.2.4). Without {@code max-age} and {@code s-maxage}, an
 * {@code Expires} header sets the expiry (5.3): a date in the past, or one that is not a valid HTTP
 * date, means already stale.
 */
final class Freshness {

    /** Cacheability and expiry of one response. */
    record Decision(boolean store, Instant expiresAt) {
    }

    private Freshness() {
    }

    static Decision decide(@Nullable String cacheControl, Duration defaultTtl, Instant now) {
        return decide(cacheControl, null, defaultTtl, now);
    }

    /** As {@link #decide(String, Duration, Instant)}, with the response's {@code Expires} (may be null). */
    static Decision decide(@Nullable String cacheControl, @Nullable String expires, Duration defaultTtl,
                           Instant now) {
        if (cacheControl == null || cacheControl.isBlank()) {
            return new Decision(true, expires != null ? expiry(expires, now) : plus(now, defaultTtl));
        }
        long sMaxAge = -1;
        long maxAge = -1;
        boolean noCache = false;
        for (String d : cacheControl.split(",")) {
            String t = d.trim().toLowerCase(Locale.ROOT);
            int eq = t.indexOf('=');
            String name = eq < 0 ? t : t.substring(0, eq).trim();
            String value = eq < 0 ? null : unquote(t.substring(eq + 1).trim());
            switch (name) {
                case "no-store", "private" -> {
                    return new Decision(false, now);
                }
                case "no-cache" -> noCache = true;
                case "s-maxage" -> sMaxAge = seconds(value);
                case "max-age" -> maxAge = seconds(value);
                default -> {
                    // other directives do not change a shared cache's freshness
                }
            }
        }
        if (noCache) {
            return new Decision(true, now);
        }
        if (sMaxAge >= 0) {
            return new Decision(true, plus(now, Duration.ofSeconds(sMaxAge)));
        }
        if (maxAge >= 0) {
            return new Decision(true, plus(now, Duration.ofSeconds(maxAge)));
        }
        return new Decision(true, expires != null ? expiry(expires, now) : plus(now, defaultTtl));
    }

    /** RFC 9111 5.3: an invalid date (e.g. "0") means in the past; a past date means stale now. */
    private static Instant expiry(String expires, Instant now) {
        Instant t = HttpDates.parse(expires);
        return t == null || t.isBefore(now) ? now : t;
    }

    private static Instant plus(Instant now, Duration d) {
        try {
            return now.plus(d);
        } catch (ArithmeticException | java.time.DateTimeException e) {
            return Instant.MAX;
        }
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }

    /** delta-seconds (RFC 9111 1.2.2): invalid counts as 0 (stale), huge values saturate. */
    private static long seconds(@Nullable String v) {
        if (v == null || v.isEmpty()) {
            return 0;
        }
        for (int i = 0; i < v.length(); i++) {
            if (v.charAt(i) < '0' || v.charAt(i) > '9') {
                return 0;
            }
        }
        return v.length() > 10 ? 2_147_483_648L : Long.parseLong(v);
    }
}
