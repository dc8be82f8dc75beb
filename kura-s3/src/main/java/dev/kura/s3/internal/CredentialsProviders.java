package dev.kura.s3.internal;

import dev.kura.s3.OriginCredentials;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.InstanceProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.StsClientBuilder;
import software.amazon.awssdk.services.sts.auth.StsAssumeRoleCredentialsProvider;
import software.amazon.awssdk.services.sts.auth.StsWebIdentityTokenFileCredentialsProvider;
import software.amazon.awssdk.utils.SdkAutoCloseable;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The AWS SDK credentials provider for one bucket's {@link OriginCredentials}, and what must be
 * closed with it (STS clients, refresh threads).
 *
 * <h2>Refresh off the request path</h2>
 * Every provider of temporary credentials is built with {@code asyncCredentialUpdateEnabled}: the
 * SDK refreshes them on a background thread some minutes before they expire (the STS providers'
 * prefetch time, the HTTP providers' stale time), so an origin request never waits for STS, IMDS
 * or a container endpoint once the first credentials are in. The first ones are fetched at the
 * first origin request.
 *
 * <p>Sources: AWS SDK for Java v2 developer guide, "Credentials providers"; IMDSv2 (token
 * {@code PUT /latest/api/token}) is the SDK's default for instance credentials.
 *
 * <p>Thread-safety: {@link #of} is pure; the returned provider is safe for concurrent use.
 */
final class CredentialsProviders {
    private CredentialsProviders() {
    }

    /**
     * A provider and its resources.
     *
     * @param provider what signs the origin's requests
     * @param closeables closed, in order, when the origin client closes
     */
    record Resolved(AwsCredentialsProvider provider, List<SdkAutoCloseable> closeables) implements AutoCloseable {
        @Override
        public void close() {
            closeables.forEach(SdkAutoCloseable::close);
        }
    }

    /**
     * @param c the bucket's credentials
     * @param region the bucket's region (STS is called in it)
     */
    static Resolved of(OriginCredentials c, String region) {
        List<SdkAutoCloseable> close = new ArrayList<>();
        AwsCredentialsProvider p = switch (c.kind()) {
            case ANONYMOUS -> AnonymousCredentialsProvider.create();
            case STATIC -> staticKeys(c);
            case DEFAULT -> track(close, DefaultCredentialsProvider.builder().asyncCredentialUpdateEnabled(true).build());
            case PROFILE -> track(close, ProfileCredentialsProvider.builder().profileName(c.profile()).build());
            case CONTAINER -> track(close, ContainerCredentialsProvider.builder().asyncCredentialUpdateEnabled(true).build());
            case INSTANCE -> track(close, InstanceProfileCredentialsProvider.builder()
                    .asyncCredentialUpdateEnabled(true).build());
            case ASSUME_ROLE -> {
                AwsCredentialsProvider source = c.accessKeyId() != null ? staticKeys(c)
                        : track(close, DefaultCredentialsProvider.builder().asyncCredentialUpdateEnabled(true).build());
                StsClient sts = track(close, sts(c, region, source));
                yield trackFirst(close, StsAssumeRoleCredentialsProvider.builder().stsClient(sts)
                        .asyncCredentialUpdateEnabled(true)
                        .refreshRequest(r -> {
                            r.roleArn(c.roleArn()).roleSessionName(c.sessionName());
                            if (c.externalId() != null) {
                                r.externalId(c.externalId());
                            }
                        }).build());
            }
            case WEB_IDENTITY -> {
                // AssumeRoleWithWebIdentity is not signed: the token is the proof.
                StsClient sts = track(close, sts(c, region, AnonymousCredentialsProvider.create()));
                yield trackFirst(close, StsWebIdentityTokenFileCredentialsProvider.builder().stsClient(sts)
                        .asyncCredentialUpdateEnabled(true).roleArn(c.roleArn()).roleSessionName(c.sessionName())
                        .webIdentityTokenFile(Path.of(c.webIdentityTokenFile())).build());
            }
        };
        return new Resolved(p, List.copyOf(close));
    }

    private static AwsCredentialsProvider staticKeys(OriginCredentials c) {
        return StaticCredentialsProvider.create(c.sessionToken() == null
                ? AwsBasicCredentials.create(c.accessKeyId(), c.secretAccessKey())
                : AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken()));
    }

    private static StsClient sts(OriginCredentials c, String region, AwsCredentialsProvider source) {
        StsClientBuilder b = StsClient.builder().region(Region.of(region)).credentialsProvider(source)
                .httpClientBuilder(ApacheHttpClient.builder());
        if (c.stsEndpoint() != null) {
            b.endpointOverride(c.stsEndpoint());
        }
        return b.build();
    }

    private static <T extends SdkAutoCloseable> T track(List<SdkAutoCloseable> close, T t) {
        close.add(t);
        return t;
    }

    /** A provider that uses resources tracked before it: closed before them. */
    private static <T extends SdkAutoCloseable> T trackFirst(List<SdkAutoCloseable> close, T t) {
        close.addFirst(t);
        return t;
    }
}
