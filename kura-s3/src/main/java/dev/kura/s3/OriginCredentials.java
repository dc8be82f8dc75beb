package dev.kura.s3;

/**
 * How kura signs its requests to one origin ({@code serve.buckets[].credentials}). Signing is
 * AWS Signature Version 4, done by the AWS SDK for Java v2.
 *
 * @param type {@code static} (the keys below), {@code default} (the AWS default chain:
 *     environment, system properties, profile files, container and instance roles) or
 *     {@code anonymous} (unsigned requests, for public buckets)
 * @param accessKeyId access key id, for {@code static}; usually {@code ${AWS_ACCESS_KEY_ID}}
 * @param secretAccessKey secret key, for {@code static}
 * @param sessionToken session token of temporary keys, for {@code static}; optional
 *
 * <p>Thread-safety: immutable. {@link #toString()} hides the secrets.
 */
public record OriginCredentials(String type, String accessKeyId, String secretAccessKey, String sessionToken) {

    /** Kind of credentials, from {@link #type()}. */
    public enum Kind { STATIC, DEFAULT, ANONYMOUS }

    /** @throws IllegalArgumentException naming the key of a missing or unknown value */
    public OriginCredentials {
        if (type == null || type.isBlank()) {
            type = accessKeyId != null ? "static" : "default";
        }
        type = type.trim().toLowerCase(java.util.Locale.ROOT);
        if (!type.equals("static") && !type.equals("default") && !type.equals("anonymous")) {
            throw new IllegalArgumentException("type must be static, default or anonymous, was '" + type + "'");
        }
        if (type.equals("static")) {
            if (accessKeyId == null || accessKeyId.isBlank()) {
                throw new IllegalArgumentException("access-key-id must be set for static credentials");
            }
            if (secretAccessKey == null || secretAccessKey.isBlank()) {
                throw new IllegalArgumentException("secret-access-key must be set for static credentials");
            }
        } else if (accessKeyId != null || secretAccessKey != null) {
            throw new IllegalArgumentException("access-key-id and secret-access-key are only for type: static");
        }
        if (sessionToken != null && sessionToken.isBlank()) {
            sessionToken = null;
        }
    }

    /** {@link #type()} as an enum. */
    public Kind kind() {
        return Kind.valueOf(type.toUpperCase(java.util.Locale.ROOT));
    }

    /** Static keys. */
    public static OriginCredentials ofStatic(String accessKeyId, String secretAccessKey) {
        return new OriginCredentials("static", accessKeyId, secretAccessKey, null);
    }

    /** Unsigned requests. */
    public static OriginCredentials anonymous() {
        return new OriginCredentials("anonymous", null, null, null);
    }

    @Override
    public String toString() {
        return "OriginCredentials[type=" + type + (accessKeyId != null ? ", accessKeyId=" + accessKeyId : "") + "]";
    }
}
