// @aws-sdk/client-s3 against kura (S3ClientsTest): paginator, GetObject bytes, presigned URL,
// S3 error codes. Usage: node js_checks.mjs ENDPOINT ACCESS_KEY SECRET; prints one JSON object.
import { createHash } from "node:crypto";
import { S3Client, GetObjectCommand, ListBucketsCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const [endpoint, key, secret] = process.argv.slice(2);
const client = (accessKeyId, secretAccessKey, extra = {}) => new S3Client({
  endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1,
  credentials: { accessKeyId, secretAccessKey }, ...extra,
});
const s3 = client(key, secret);
const anon = client("x", "y", { signer: { sign: async (request) => request } });

async function code(fn) {
  try {
    await fn();
    return "ok";
  } catch (e) {
    return e.Code ?? e.name;
  }
}

const res = {};
let keys = 0;
let pages = 0;
for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: "test", Prefix: "many/" })) {
  keys += (page.Contents ?? []).length;
  pages++;
}
res.v2_keys = keys;
res.v2_pages = pages;
const blob = await s3.send(new GetObjectCommand({ Bucket: "test", Key: "blob.bin" }));
res.blob_sha256 = createHash("sha256").update(await blob.Body.transformToByteArray()).digest("hex");
const odd = await s3.send(new GetObjectCommand({ Bucket: "test", Key: "odd key+1.txt" }));
res.odd_key = await odd.Body.transformToString();
const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "test", Key: "hello.txt" }), { expiresIn: 300 });
res.presigned = await (await fetch(url)).text();
const get = (c) => () => c.send(new GetObjectCommand({ Bucket: "test", Key: "hello.txt" }));
res.wrong_secret = await code(get(client(key, "wrong-secret-0123456789")));
res.unknown_key = await code(get(client("UNKNOWNKEY000000", secret)));
res.anonymous_private = await code(get(anon));
res.no_such_key = await code(() => s3.send(new GetObjectCommand({ Bucket: "test", Key: "no-such-key" })));
res.buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name).sort();
console.log(JSON.stringify(res));
