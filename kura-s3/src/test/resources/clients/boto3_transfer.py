"""boto3's transfer manager against kura (ParallelRangeClientTest): download_file with a
TransferConfig small enough that the object comes as many ranged GETs, several in parallel.

Usage: boto3_transfer.py ENDPOINT ACCESS_KEY SECRET BUCKET KEY DOWNLOAD_PATH CHUNK_BYTES
Prints one JSON object: the file's SHA-256, the ranged GETs sent, the most in flight at once.
"""
import hashlib
import json
import sys
import threading

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

endpoint, key, secret, bucket, obj, path, chunk = sys.argv[1:8]
chunk = int(chunk)
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                  region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                signature_version="s3v4", max_pool_connections=16))
lock = threading.Lock()
state = {"ranged": 0, "in_flight": 0, "max_in_flight": 0}


def before(request, **kwargs):
    if request.headers.get("Range"):
        with lock:
            state["ranged"] += 1
            state["in_flight"] += 1
            state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])


def after(http_response, **kwargs):
    # only GetObject calls reach here (the event is registered for it)
    with lock:
        if state["in_flight"] > 0:
            state["in_flight"] -= 1


s3.meta.events.register("before-send.s3.GetObject", before)
s3.meta.events.register("after-call.s3.GetObject", after)
cfg = TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk, max_concurrency=8, use_threads=True)
s3.download_file(bucket, obj, path, Config=cfg)
h = hashlib.sha256()
with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
        h.update(block)
print(json.dumps({"sha256": h.hexdigest(), "ranged_gets": state["ranged"],
                  "max_in_flight": state["max_in_flight"]}))
