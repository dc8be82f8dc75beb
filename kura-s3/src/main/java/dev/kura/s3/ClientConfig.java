package dev.kura.s3;

import java.util.List;

/**
 * One entry of {@code serve.clients}: an access key kura issues to an S3 client, and what it may
 * read. The client signs its requests with AWS Signature Version 4 (Authorization header or
 * presigned URL) using these keys, exactly as it would sign for S3 itself.
 *
 * @param accessKeyId the access key id (16..128 characters of {@code [A-Za-z0-9]}, as AWS's own)
 * @param secretAccessKey the secret key, at least 16 characters; write it as {@code ${ENV_VAR}}
 *     so it stays out of the file. Never logged, never sent in an error
 * @param read what the client may read: each entry is a bucket {@code name} (the whole bucket) or
 *     {@code name/prefix} (keys starting with {@code prefix}); {@code *} means every bucket
 *
 * <p>Thread-safety: immutable. {@link #toString()} hides the secret.
 */
public record ClientConfig(String accessKeyId, String secretAccessKey, List<String> read) {

    /** @throws IllegalArgumentException naming the key of a missing or nonsense value */
    public ClientConfig {
        if (accessKeyId == null || !accessKeyId.matches("[A-Za-z0-9]{16,128}")) {
            throw new IllegalArgumentException("access-key-id must be 16..128 letters and digits");
        }
        if (secretAccessKey == null || secretAccessKey.length() < 16) {
            throw new IllegalArgumentException("secret-access-key of " + accessKeyId
                    + " must be at least 16 characters (write it as ${ENV_VAR})");
        }
        read = read == null ? List.of() : List.copyOf(read);
        for (String r : read) {
            if (r == null || r.isBlank() || r.startsWith("/")) {
                throw new IllegalArgumentException("read entries of " + accessKeyId
                        + " are bucket names or name/prefix, was '" + r + "'");
            }
        }
    }

    /** The bucket name of a {@link #read()} entry. */
    static String bucketOf(String readEntry) {
        int slash = readEntry.indexOf('/');
        return slash < 0 ? readEntry : readEntry.substring(0, slash);
    }

    @Override
    public String toString() {
        return "ClientConfig[accessKeyId=" + accessKeyId + ", read=" + read + "]";
    }
}
