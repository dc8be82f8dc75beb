package dev.kura.s3.internal.api;

/** The S3 read operations kura serves (names from the S3 API reference). */
public enum S3Operation {
    GET_OBJECT,
    HEAD_OBJECT,
    LIST_OBJECTS,
    LIST_OBJECTS_V2,
    LIST_BUCKETS,
    GET_BUCKET_LOCATION,
    HEAD_BUCKET
}
