package dev.kura.s3.internal.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.xml.XmlMapper;
import com.fasterxml.jackson.dataformat.xml.annotation.JacksonXmlProperty;
import com.fasterxml.jackson.dataformat.xml.annotation.JacksonXmlRootElement;
import com.fasterxml.jackson.dataformat.xml.ser.ToXmlGenerator;
import org.jspecify.annotations.Nullable;

import java.io.UncheckedIOException;

/**
 * Writes S3's XML documents (errors, listings, bucket location) with Jackson's XML data format.
 *
 * <p>Why Jackson: element names, escaping of keys (any UTF-8 an S3 key may hold) and the XML
 * declaration come from one well-kept writer instead of string concatenation. Documents are
 * records annotated with the element names the S3 API reference gives them.
 *
 * <p>Thread-safety: safe for concurrent use (the mapper is immutable once built).
 */
public final class S3Xml {
    /** The namespace of S3's response documents (S3 API reference, e.g. ListObjectsV2). */
    public static final String NS = "http://s3.amazonaws.com/doc/2006-03-01/";

    private static final XmlMapper MAPPER = XmlMapper.builder()
            .configure(ToXmlGenerator.Feature.WRITE_XML_DECLARATION, true)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();

    private S3Xml() {
    }

    /** The S3 error document (S3 API reference, "Error responses"): root element {@code Error}. */
    @JacksonXmlRootElement(localName = "Error")
    public record ErrorDocument(
            @JacksonXmlProperty(localName = "Code") String code,
            @JacksonXmlProperty(localName = "Message") @Nullable String message,
            @JacksonXmlProperty(localName = "Resource") String resource,
            @JacksonXmlProperty(localName = "RequestId") String requestId) {
    }

    /** UTF-8 bytes of an error document. */
    public static byte[] error(S3ErrorCode code, @Nullable String message, String resource, String requestId) {
        return write(new ErrorDocument(code.code(), message, resource, requestId));
    }

    /** UTF-8 bytes of {@code document} as XML with a declaration. */
    public static byte[] write(Object document) {
        try {
            return MAPPER.writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
