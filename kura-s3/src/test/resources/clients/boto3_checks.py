"""boto3 against kura (S3ClientsTest): paginators, download_file, presigned URLs, S3 error codes.

Usage: boto3_checks.py ENDPOINT ACCESS_KEY SECRET DOWNLOAD_PATH; prints one JSON object.
"""
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, key, secret, download = sys.argv[1:5]
cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, signature_version="s3v4")


def client(k, s, config=cfg):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=k, aws_secret_access_key=s,
                        region_name="us-east-1", config=config)


def code(fn):
    try:
        fn()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]


def http_error(url):
    try:
        urllib.request.urlopen(url).read()
        return "ok"
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        start = body.find("<Code>")
        return "%d %s" % (e.code, body[start + 6:body.find("</Code>")] if start >= 0 else "")


s3 = client(key, secret)
anon = client(None, None, cfg.merge(Config(signature_version=UNSIGNED)))
res = {}
res["v2_keys"] = sum(len(p.get("Contents", []))
                     for p in s3.get_paginator("list_objects_v2").paginate(Bucket="test", Prefix="many/"))
res["v2_pages"] = sum(1 for _ in s3.get_paginator("list_objects_v2").paginate(Bucket="test", Prefix="many/"))
res["v1_keys"] = sum(len(p.get("Contents", []))
                     for p in s3.get_paginator("list_objects").paginate(Bucket="test", Prefix="many/"))
res["prefixes"] = sorted(cp["Prefix"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="test", Delimiter="/")
                         for cp in p.get("CommonPrefixes", []))
s3.download_file("test", "blob.bin", download)
with open(download, "rb") as f:
    res["blob_sha256"] = hashlib.sha256(f.read()).hexdigest()
res["odd_key"] = s3.get_object(Bucket="test", Key="odd key+1.txt")["Body"].read().decode()
url = s3.generate_presigned_url("get_object", Params={"Bucket": "test", "Key": "hello.txt"}, ExpiresIn=300)
res["presigned"] = urllib.request.urlopen(url).read().decode()
res["wrong_secret"] = code(lambda: client(key, "wrong-secret-0123456789").get_object(Bucket="test", Key="hello.txt"))
res["unknown_key"] = code(lambda: client("UNKNOWNKEY000000", secret).get_object(Bucket="test", Key="hello.txt"))
res["anonymous_private"] = code(lambda: anon.get_object(Bucket="test", Key="hello.txt"))
res["anonymous_public"] = anon.get_object(Bucket="pub", Key="hello.txt")["Body"].read().decode()
res["no_such_key"] = code(lambda: s3.get_object(Bucket="test", Key="no-such-key"))
res["buckets"] = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
res["anonymous_buckets"] = sorted(b["Name"] for b in anon.list_buckets()["Buckets"])
expiring = s3.generate_presigned_url("get_object", Params={"Bucket": "test", "Key": "hello.txt"}, ExpiresIn=1)
time.sleep(2.5)
res["expired_presigned"] = http_error(expiring)
print(json.dumps(res))
