"""The ObjectStore port on a versioned S3 bucket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from ...domain.media import content_disposition
from ...domain.object_keys import check_key
from ...domain.timeutil import to_iso
from ...ports import (
    ObjectInfo,
    ObjectNotFound,
    ObjectPreconditionFailed,
    StoredObject,
    UploadForm,
)
from .errors import code, http_status, storage

NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "404", "NotFound", "MethodNotAllowed"}
PRECONDITION = {"PreconditionFailed", "ConditionalRequestConflict", "412"}


def _etag(raw: str | None) -> str:
    return (raw or "").strip('"')


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        check_key(key)
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "Metadata": dict(metadata or {}),
        }
        if if_none_match:
            request["IfNoneMatch"] = "*"
        if if_match is not None:
            request["IfMatch"] = f'"{if_match}"'
        with storage("S3 PutObject"):
            try:
                response = self._s3.put_object(**request)
            except ClientError as error:
                missing = if_match is not None and code(error) in NOT_FOUND
                if code(error) in PRECONDITION or http_status(error) == 412 or missing:
                    raise ObjectPreconditionFailed(key) from error
                raise
        return ObjectInfo(
            key=key,
            version_id=response.get("VersionId") or "null",
            etag=_etag(response.get("ETag")),
            size=len(data),
            last_modified=dt.datetime.now(dt.UTC),
            content_type=content_type,
            metadata=dict(metadata or {}),
        )

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject:
        check_key(key)
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id is not None:
            request["VersionId"] = version_id
        with storage("S3 GetObject"):
            try:
                response = self._s3.get_object(**request)
            except ClientError as error:
                if code(error) in NOT_FOUND or code(error) == "InvalidArgument":
                    raise ObjectNotFound(key) from error
                raise
            data = response["Body"].read()
        return StoredObject(self._info(key, response, len(data)), data)

    def head(self, key: str) -> ObjectInfo | None:
        check_key(key)
        with storage("S3 HeadObject"):
            try:
                response = self._s3.head_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if code(error) in NOT_FOUND or http_status(error) in (404, 405):
                    return None
                raise
        return self._info(key, response, int(response.get("ContentLength", 0)))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        check_key(key)
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if if_match is not None:
            request["IfMatch"] = f'"{if_match}"'
        with storage("S3 DeleteObject"):
            try:
                self._s3.delete_object(**request)
            except ClientError as error:
                if code(error) in PRECONDITION or http_status(error) == 412:
                    raise ObjectPreconditionFailed(key) from error
                if if_match is not None and code(error) in NOT_FOUND:
                    raise ObjectPreconditionFailed(key) from error
                raise

    def list_versions(self, key: str) -> list[ObjectInfo]:
        check_key(key)
        found: list[ObjectInfo] = []
        paginator = self._s3.get_paginator("list_object_versions")
        with storage("S3 ListObjectVersions"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                for version in page.get("Versions", []):
                    if version["Key"] == key:
                        found.append(self._version(version, deleted=False))
                for marker in page.get("DeleteMarkers", []):
                    if marker["Key"] == key:
                        found.append(self._version(marker, deleted=True))
        found.sort(key=lambda v: (v.is_latest, v.last_modified), reverse=True)
        return found

    def list_objects(self, prefix: str, *, shallow: bool = False) -> Iterator[ObjectInfo]:
        paginator = self._s3.get_paginator("list_objects_v2")
        folder = {"Delimiter": "/"} if shallow else {}
        with storage("S3 ListObjectsV2"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, **folder):
                for item in page.get("Contents", []):
                    yield ObjectInfo(
                        key=item["Key"],
                        version_id="",
                        etag=_etag(item.get("ETag")),
                        size=int(item.get("Size", 0)),
                        last_modified=item["LastModified"],
                    )

    def list_folders(self, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        folders: list[str] = []
        with storage("S3 ListObjectsV2"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return sorted(folders)

    @staticmethod
    def _info(key: str, response: dict[str, Any], size: int) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            version_id=response.get("VersionId") or "null",
            etag=_etag(response.get("ETag")),
            size=size,
            last_modified=response["LastModified"],
            content_type=response.get("ContentType", "application/octet-stream"),
            metadata=response.get("Metadata", {}),
        )

    @staticmethod
    def _version(item: dict[str, Any], *, deleted: bool) -> ObjectInfo:
        return ObjectInfo(
            key=item["Key"],
            version_id=item["VersionId"],
            etag=_etag(item.get("ETag")),
            size=int(item.get("Size", 0)),
            last_modified=item["LastModified"],
            is_latest=bool(item.get("IsLatest")),
            is_delete_marker=deleted,
        )


class S3Presigner:
    """Presigned URLs for direct browser/CLI transfers that bypass the API's payload limit."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def get_url(
        self,
        key: str,
        *,
        expires_in: int = 900,
        filename: str | None = None,
        cache_control: str | None = None,
    ) -> str:
        check_key(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if cache_control:
            params["ResponseCacheControl"] = cache_control
        with storage("S3 presign GET"):
            url: str = self._s3.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_in
            )
        return url

    def post_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int = 900
    ) -> dict[str, Any]:
        """A presigned POST: the URL and form fields; S3 itself refuses another key, another
        content type or a body over ``max_bytes``."""
        check_key(key)
        with storage("S3 presign POST"):
            form: dict[str, Any] = self._s3.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, max_bytes],
                ],
                ExpiresIn=expires_in,
            )
        return form

    # --- the FileLinks port ---------------------------------------------------------------

    def download_url(
        self, key: str, *, filename: str | None = None, cache_control: str | None = None
    ) -> str | None:
        return self.get_url(key, filename=filename, cache_control=cache_control)

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> UploadForm:
        form = self.post_form(
            key, content_type=content_type, max_bytes=max_bytes, expires_in=expires_in
        )
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)
        return UploadForm(
            url=form["url"],
            fields={str(k): str(v) for k, v in form["fields"].items()},
            expires_at=to_iso(expires),
            max_bytes=max_bytes,
        )
