package dev.kura.s3.internal.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.dataformat.xml.annotation.JacksonXmlElementWrapper;
import com.fasterxml.jackson.dataformat.xml.annotation.JacksonXmlProperty;
import com.fasterxml.jackson.dataformat.xml.annotation.JacksonXmlRootElement;
import com.fasterxml.jackson.dataformat.xml.annotation.JacksonXmlText;
import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * The XML documents of kura's bucket and service operations, element names as in the S3 API
 * reference (ListObjectsV2, ListObjects, ListBuckets, GetBucketLocation), written by
 * {@link S3Xml}.
 *
 * <p>{@code encoding-type=url}: the keys and prefixes in the answer are URL-encoded (every byte
 * but {@code A-Z a-z 0-9 - . _ ~ /} as {@code %XX}) so keys holding characters XML 1.0 cannot
 * carry survive; clients (botocore, the Java SDK) decode them. awscli always asks for it.
 */
public final class ListingXml {
    private ListingXml() {
    }

    /** Root of ListObjects and ListObjectsV2 answers; fields of the other version stay null. */
    @JacksonXmlRootElement(localName = "ListBucketResult", namespace = S3Xml.NS)
    @JsonPropertyOrder({"Name", "Prefix", "Marker", "NextMarker", "ContinuationToken", "NextContinuationToken",
            "StartAfter", "KeyCount", "MaxKeys", "Delimiter", "EncodingType", "IsTruncated", "Contents",
            "CommonPrefixes"})
    public record ListBucketResult(
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Name") String name,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Prefix") String prefix,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Marker") @Nullable String marker,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "NextMarker") @Nullable String nextMarker,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "ContinuationToken") @Nullable String continuationToken,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "NextContinuationToken") @Nullable String nextContinuationToken,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "StartAfter") @Nullable String startAfter,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "KeyCount") @Nullable Integer keyCount,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "MaxKeys") int maxKeys,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Delimiter") @Nullable String delimiter,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "EncodingType") @Nullable String encodingType,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "IsTruncated") boolean isTruncated,
            @JacksonXmlElementWrapper(useWrapping = false) @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Contents")
            List<Contents> contents,
            @JacksonXmlElementWrapper(useWrapping = false) @JacksonXmlProperty(namespace = S3Xml.NS, localName = "CommonPrefixes")
            List<Prefix> commonPrefixes) {
    }

    /** One key of a listing. */
    @JsonPropertyOrder({"Key", "LastModified", "ETag", "Size", "StorageClass", "Owner"})
    public record Contents(
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Key") String key,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "LastModified") @Nullable String lastModified,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "ETag") @Nullable String etag,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Size") long size,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "StorageClass") String storageClass,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Owner") @Nullable Owner owner) {
    }

    /** An owner (canonical id and display name). */
    @JsonPropertyOrder({"ID", "DisplayName"})
    public record Owner(
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "ID") String id,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "DisplayName") @Nullable String displayName) {
    }

    /** One common prefix. */
    public record Prefix(@JacksonXmlProperty(namespace = S3Xml.NS, localName = "Prefix") String prefix) {
    }

    /** Root of the ListBuckets answer. */
    @JacksonXmlRootElement(localName = "ListAllMyBucketsResult", namespace = S3Xml.NS)
    @JsonPropertyOrder({"Owner", "Buckets"})
    public record ListAllMyBucketsResult(
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Owner") Owner owner,
            @JacksonXmlElementWrapper(localName = "Buckets") @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Bucket")
            List<Bucket> buckets) {
    }

    /** One bucket of ListBuckets. */
    @JsonPropertyOrder({"Name", "CreationDate"})
    public record Bucket(
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "Name") String name,
            @JacksonXmlProperty(namespace = S3Xml.NS, localName = "CreationDate") String creationDate) {
    }

    /** The GetBucketLocation answer: empty for us-east-1, as S3 answers. */
    @JacksonXmlRootElement(localName = "LocationConstraint", namespace = S3Xml.NS)
    public record LocationConstraint(@JacksonXmlText @Nullable String region) {
    }

    /**
     * The listing document for {@code page}.
     *
     * @param bucket the bucket name the client used
     * @param q the request's parameters
     * @param page the origin's answer
     * @param urlEncode true for {@code encoding-type=url}
     */
    public static ListBucketResult listBucketResult(String bucket, ListQuery q, ListPage page, boolean urlEncode) {
        boolean owners = !q.v2() || q.fetchOwner();
        List<Contents> contents = page.objects().stream().map(o -> new Contents(enc(o.key(), urlEncode),
                timestampOrNull(o.lastModified()), o.etag(), o.size(), o.storageClass() == null ? "STANDARD" : o.storageClass(),
                owners && o.ownerId() != null ? new Owner(o.ownerId(), o.ownerName()) : null)).toList();
        List<Prefix> prefixes = page.commonPrefixes().stream().map(p -> new Prefix(enc(p, urlEncode))).toList();
        String prefix = enc(q.prefix() == null ? "" : q.prefix(), urlEncode);
        String delimiter = encOrNull(q.delimiter(), urlEncode);
        String encodingType = urlEncode ? "url" : null;
        if (q.v2()) {
            return new ListBucketResult(bucket, prefix, null, null, q.marker(), page.truncated() ? page.next() : null,
                    encOrNull(q.startAfter(), urlEncode), contents.size() + prefixes.size(), q.maxKeys(), delimiter,
                    encodingType, page.truncated(), contents, prefixes);
        }
        return new ListBucketResult(bucket, prefix, enc(q.marker() == null ? "" : q.marker(), urlEncode),
                page.truncated() ? encOrNull(page.next(), urlEncode) : null, null, null, null, null, q.maxKeys(), delimiter,
                encodingType, page.truncated(), contents, prefixes);
    }

    /** S3's timestamp form in listings, e.g. {@code 2009-10-12T17:50:30.000Z}. */
    public static String timestamp(Instant t) {
        return TIMESTAMP.format(t);
    }

    /** {@link #timestamp}, or null for null (an object listed without a date). */
    public static @Nullable String timestampOrNull(@Nullable Instant t) {
        return t == null ? null : TIMESTAMP.format(t);
    }

    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(java.time.ZoneOffset.UTC);

    private static @Nullable String encOrNull(@Nullable String s, boolean urlEncode) {
        return s == null ? null : enc(s, urlEncode);
    }

    private static String enc(String s, boolean urlEncode) {
        if (!urlEncode) {
            return s;
        }
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(b.length + 8);
        for (byte x : b) {
            int c = x & 0xff;
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                    || c == '_' || c == '~' || c == '/') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }
}
