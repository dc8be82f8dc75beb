package dev.kura.s3;

import org.jspecify.annotations.Nullable;

import java.net.URI;
import java.util.Locale;

/**
 * How kura signs its requests to one origin ({@code serve.buckets[].credentials}). Signing is
 * AWS Signature Version 4, done by the AWS SDK for Java v2; temporary credentials (STS, container,
 * instance roles) are refreshed by the SDK on a background thread before they expire, never on a
 * request's path. Examples of each type are in {@code docs/OPERATIONS.md}.
 *
 * @param type how, one of {@link Kind} in lower case with dashes: {@code static} (the keys below),
 *     {@code default} (the AWS default chain: environment, system properties, web identity token
 *     file, profile files, container and instance roles), {@code profile} (one named profile of
 *     {@code ~/.aws/config} and {@code ~/.aws/credentials}, including {@code role_arn} +
 *     {@code source_profile}), {@code assume-role} (STS AssumeRole), {@code web-identity}
 *     (STS AssumeRoleWithWebIdentity with a token file: Kubernetes IRSA), {@code container} (ECS
 *     task role, EKS Pod Identity: {@code AWS_CONTAINER_CREDENTIALS_FULL_URI} /
 *     {@code _RELATIVE_URI}), {@code instance} (EC2 instance profile through IMDSv2) or
 *     {@code anonymous} (unsigned requests, for public buckets). Default: {@code static} when
 *     {@code access-key-id} is set, else {@code default}
 * @param accessKeyId access key id, for {@code static}, or the keys {@code assume-role} calls STS
 *     with (default: the default chain); usually {@code ${AWS_ACCESS_KEY_ID}}
 * @param secretAccessKey secret key, with {@code access-key-id}
 * @param sessionToken session token of temporary keys, with {@code access-key-id}; optional
 * @param profile profile name, for {@code profile}
 * @param roleArn the role to assume, for {@code assume-role} and {@code web-identity}, e.g.
 *     {@code arn:aws:iam::123456789012:role/kura-reader}
 * @param externalId external id the role's trust policy asks for ({@code assume-role}); optional
 * @param sessionName role session name, seen in CloudTrail ({@code assume-role},
 *     {@code web-identity}); default {@code kura}
 * @param webIdentityTokenFile path of the OIDC token file, for {@code web-identity} (IRSA mounts it
 *     at {@code /var/run/secrets/eks.amazonaws.com/serviceaccount/token})
 * @param stsEndpoint STS endpoint ({@code assume-role}, {@code web-identity}); default the
 *     regional endpoint of the bucket's {@code region}
 *
 * <p>Thread-safety: immutable. {@link #toString()} hides the secrets.
 */
public record OriginCredentials(String type, @Nullable String accessKeyId, @Nullable String secretAccessKey,
                                @Nullable String sessionToken, @Nullable String profile, @Nullable String roleArn,
                                @Nullable String externalId, @Nullable String sessionName,
                                @Nullable String webIdentityTokenFile, @Nullable URI stsEndpoint) {

    /** Kind of credentials, from {@link #type()}. */
    public enum Kind {
        STATIC, DEFAULT, PROFILE, ASSUME_ROLE, WEB_IDENTITY, CONTAINER, INSTANCE, ANONYMOUS;

        /** The name in {@code kura.yaml}: lower case, dashes. */
        public String configName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        static Kind parse(String s) {
            for (Kind k : values()) {
                if (k.configName().equals(s)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("type must be one of static, default, profile, assume-role, web-identity, "
                    + "container, instance, anonymous; was '" + s + "'");
        }
    }

    /** @throws IllegalArgumentException naming the key of a missing, unknown or misplaced value */
    public OriginCredentials {
        if (type == null || type.isBlank()) {
            type = accessKeyId != null ? "static" : "default";
        }
        type = type.trim().toLowerCase(Locale.ROOT);
        Kind kind = Kind.parse(type);
        sessionToken = blankToNull(sessionToken);
        boolean keys = accessKeyId != null || secretAccessKey != null;
        if (kind == Kind.STATIC || (kind == Kind.ASSUME_ROLE && keys)) {
            if (accessKeyId == null || accessKeyId.isBlank()) {
                throw new IllegalArgumentException("access-key-id must be set with secret-access-key");
            }
            if (secretAccessKey == null || secretAccessKey.isBlank()) {
                throw new IllegalArgumentException("secret-access-key must be set with access-key-id");
            }
        } else if (keys || sessionToken != null) {
            throw new IllegalArgumentException("access-key-id, secret-access-key and session-token are only for "
                    + "type: static and assume-role, not " + type);
        }
        only(kind, "profile", profile, Kind.PROFILE);
        only(kind, "role-arn", roleArn, Kind.ASSUME_ROLE, Kind.WEB_IDENTITY);
        only(kind, "external-id", externalId, Kind.ASSUME_ROLE);
        only(kind, "session-name", sessionName, Kind.ASSUME_ROLE, Kind.WEB_IDENTITY);
        only(kind, "web-identity-token-file", webIdentityTokenFile, Kind.WEB_IDENTITY);
        only(kind, "sts-endpoint", stsEndpoint, Kind.ASSUME_ROLE, Kind.WEB_IDENTITY);
        if (kind == Kind.PROFILE && (profile == null || profile.isBlank())) {
            throw new IllegalArgumentException("profile must be set for type: profile");
        }
        if ((kind == Kind.ASSUME_ROLE || kind == Kind.WEB_IDENTITY)) {
            if (roleArn == null || !roleArn.startsWith("arn:")) {
                throw new IllegalArgumentException("role-arn must be set to a role ARN (arn:aws:iam::<account>:role/<name>) "
                        + "for type: " + type + ", was " + (roleArn == null ? "unset" : "'" + roleArn + "'"));
            }
            if (sessionName == null || sessionName.isBlank()) {
                sessionName = "kura";
            }
            if (!sessionName.matches("[\\w+=,.@-]{2,64}")) {
                throw new IllegalArgumentException("session-name must be 2-64 of letters, digits and +=,.@-_, was '"
                        + sessionName + "'");
            }
        }
        if (kind == Kind.WEB_IDENTITY && (webIdentityTokenFile == null || webIdentityTokenFile.isBlank())) {
            throw new IllegalArgumentException("web-identity-token-file must be set for type: web-identity");
        }
        if (stsEndpoint != null && (stsEndpoint.getScheme() == null
                || !(stsEndpoint.getScheme().equals("https") || stsEndpoint.getScheme().equals("http")))) {
            throw new IllegalArgumentException("sts-endpoint must be an https:// URL, was '" + stsEndpoint + "'");
        }
    }

    /** The keys of the original four-key form ({@code static}, {@code default}, {@code anonymous}). */
    public OriginCredentials(String type, @Nullable String accessKeyId, @Nullable String secretAccessKey,
                             @Nullable String sessionToken) {
        this(type, accessKeyId, secretAccessKey, sessionToken, null, null, null, null, null, null);
    }

    private static void only(Kind kind, String key, @Nullable Object value, Kind... allowed) {
        if (value == null) {
            return;
        }
        for (Kind k : allowed) {
            if (k == kind) {
                return;
            }
        }
        throw new IllegalArgumentException(key + " does not apply to type: " + kind.configName());
    }

    private static @Nullable String blankToNull(@Nullable String s) {
        return s == null || s.isBlank() ? null : s;
    }

    /** {@link #type()} as an enum. */
    public Kind kind() {
        return Kind.parse(type);
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
        return "OriginCredentials[type=" + type + (accessKeyId != null ? ", accessKeyId=" + accessKeyId : "")
                + (profile != null ? ", profile=" + profile : "") + (roleArn != null ? ", roleArn=" + roleArn : "")
                + "]";
    }
}
