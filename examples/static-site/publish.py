#!/usr/bin/env python3
"""Publish a generated static site to an S3 bucket, as a web server would serve it.

    python3 publish.py OUTPUT_DIR --bucket BUCKET [--workers 8] [--force]

- Pages get extensionless keys (`about.html` is uploaded as `about`, `posts/x.html` as `posts/x`),
  except `index.html`, kept for the site's root and its folders; they are uploaded as
  `text/html; charset=utf-8`, so that browsers show them rather than download them.
- Every other file gets its type from the standard MIME tables (Python's `mimetypes`), with
  `charset=utf-8` for text.
- `Cache-Control`: pages 5 minutes; files whose name carries a content hash
  (`app.3f2a9c1e.js`, `logo-5d41402abc4b2a76.png`) a year, immutable; other files a day.
- Only what changed is uploaded: a file whose MD5 is the object's ETag (a single-part upload to
  a bucket with S3-managed encryption, as the example's) is left alone; `--force` uploads all.
  Objects the site no longer has are deleted. Uploads run in parallel.
- A bucket in another region than the build's fails at once, naming both regions: uploads to it
  would otherwise fail with a message that names neither.

It needs `s3:ListBucket` on the bucket (the listing, and `HeadBucket` for its region) and
`s3:PutObject` and `s3:DeleteObject` on its objects. The region is the build's (`AWS_REGION`,
which CodeBuild sets); `AWS_ENDPOINT_URL` points it at another endpoint (a local emulator).
"""

import argparse
import concurrent.futures
import dataclasses
import hashlib
import mimetypes
import os
import pathlib
import re
import sys

import boto3
import botocore.exceptions

HTML_CACHE = "public, max-age=300"
HASHED_CACHE = "public, max-age=31536000, immutable"
ASSET_CACHE = "public, max-age=86400"
HTML_TYPE = "text/html; charset=utf-8"
# A content hash in a file's name: eight or more hex digits between the stem and the extension.
HASHED_NAME = re.compile(r"[.-][0-9a-f]{8,}\.[A-Za-z0-9]+$")
# What DeleteObjects takes at once.
DELETE_BATCH = 1000


class PublishError(Exception):
    """Why the site could not be published, as the build's log should say it."""


@dataclasses.dataclass(frozen=True)
class Upload:
    """One file of the site, as it is to be stored."""

    key: str
    path: pathlib.Path
    content_type: str
    cache_control: str
    md5: str


@dataclasses.dataclass
class Summary:
    """What a run did."""

    uploaded: list = dataclasses.field(default_factory=list)
    deleted: list = dataclasses.field(default_factory=list)
    unchanged: int = 0

    def __str__(self):
        return (f"uploaded {len(self.uploaded)}, deleted {len(self.deleted)}, "
                f"unchanged {self.unchanged}")


def key_of(relative: str) -> str:
    """The object key of a file at `relative` (with `/`): pages lose `.html`, but index pages."""
    folder, _, name = relative.rpartition("/")
    if name.endswith(".html") and name != "index.html":
        name = name[: -len(".html")]
    return f"{folder}/{name}" if folder else name


def content_type_of(name: str) -> str:
    """The `Content-Type` of a file named `name`."""
    if name.endswith(".html"):
        return HTML_TYPE
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/javascript", "image/svg+xml",
                                                  "application/json", "application/xml"):
        return f"{guessed}; charset=utf-8"
    return guessed


def cache_control_of(name: str) -> str:
    """The `Cache-Control` of a file named `name`."""
    if name.endswith(".html"):
        return HTML_CACHE
    if HASHED_NAME.search(name):
        return HASHED_CACHE
    return ASSET_CACHE


def md5_of(path: pathlib.Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plan(root: pathlib.Path) -> list:
    """Every regular file under `root` (no symbolic links), as it is to be stored."""
    if not root.is_dir():
        raise PublishError(f"{root} is not a folder: build the site first")
    uploads = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        uploads.append(Upload(
            key=key_of(relative),
            path=path,
            content_type=content_type_of(path.name),
            cache_control=cache_control_of(path.name),
            md5=md5_of(path),
        ))
    keys = [upload.key for upload in uploads]
    clashes = sorted({key for key in keys if keys.count(key) > 1})
    if clashes:
        raise PublishError(f"two files would be stored under one key: {', '.join(clashes)} "
                           "(a page NAME.html beside a file NAME)")
    return uploads


def bucket_region(s3, bucket: str) -> str:
    """The bucket's region, as S3 says it (`x-amz-bucket-region`, also on a redirect)."""
    try:
        answer = s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as error:
        headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        region = headers.get("x-amz-bucket-region")
        if region:
            return region
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("404", "NoSuchBucket"):
            raise PublishError(f"bucket {bucket} does not exist") from error
        if code in ("403", "AccessDenied"):
            raise PublishError(f"the build's role may not read bucket {bucket}: "
                               "grant it s3:ListBucket on the bucket") from error
        raise
    return answer["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region", "us-east-1")


def remote_etags(s3, bucket: str) -> dict:
    """Every object's key and MD5 (its ETag, unquoted)."""
    etags = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            etags[entry["Key"]] = entry["ETag"].strip('"')
    return etags


def upload(s3, bucket: str, item: Upload) -> str:
    with item.path.open("rb") as body:
        s3.put_object(Bucket=bucket, Key=item.key, Body=body, ContentType=item.content_type,
                      CacheControl=item.cache_control)
    return item.key


def delete(s3, bucket: str, keys: list) -> None:
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start:start + DELETE_BATCH]
        answer = s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": key} for key in batch], "Quiet": True})
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise PublishError(f"{len(errors)} object(s) could not be deleted, e.g. "
                               f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}")


def publish(root: pathlib.Path, bucket: str, region: str, *, workers: int = 8,
            force: bool = False, s3=None) -> Summary:
    """Makes `bucket` hold the site under `root`, and nothing else; says what it did."""
    s3 = s3 or boto3.client("s3", region_name=region)
    located = bucket_region(s3, bucket)
    if located != region:
        raise PublishError(
            f"bucket {bucket} is in {located}, but this build runs in {region}: create the bucket "
            f"in {region} (the example's template does), or run the build in {located}")
    wanted = plan(root)
    stored = remote_etags(s3, bucket)
    summary = Summary()
    changed = [item for item in wanted if force or stored.get(item.key) != item.md5]
    summary.unchanged = len(wanted) - len(changed)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for key in pool.map(lambda item: upload(s3, bucket, item), changed):
            summary.uploaded.append(key)
    kept = {item.key for item in wanted}
    summary.deleted = sorted(key for key in stored if key not in kept)
    delete(s3, bucket, summary.deleted)
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=pathlib.Path, help="the generated site's folder")
    parser.add_argument("--bucket", required=True, help="the bucket that serves the site")
    parser.add_argument("--workers", type=int, default=8, help="uploads at once (default 8)")
    parser.add_argument("--force", action="store_true", help="upload every file, changed or not")
    arguments = parser.parse_args(argv)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        print("publish: set AWS_REGION to the build's region", file=sys.stderr)
        return 2
    try:
        summary = publish(arguments.root, arguments.bucket, region, workers=arguments.workers,
                          force=arguments.force)
    except PublishError as error:
        print(f"publish: {error}", file=sys.stderr)
        return 1
    for key in summary.uploaded:
        print(f"upload: s3://{arguments.bucket}/{key}")
    for key in summary.deleted:
        print(f"delete: s3://{arguments.bucket}/{key}")
    print(f"publish: s3://{arguments.bucket}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
