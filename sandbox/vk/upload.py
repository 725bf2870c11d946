"""The sandbox's photo upload server (docs/contracts/vk-market-api.md §4.1, §13).

`POST /upload/<key>`, multipart. A URL from `market.getProductPhotoUploadServer` takes the
field `file`; one asked for with `bulk=1` takes `file1`…`fileN` in one POST (§13). A good image
(at least 400×400, width + height ≤ 14 000, ≤ 50 MB, side ratio ≤ 20:1) gets
`{"album_id": -53, "meta": "…"}` — one answer per POST, for all its files; `meta` is opaque and
HMAC-signed, so market.saveProductPhoto(Bulk) can tell a genuine answer from an edited one (VK
answers error 121 "Invalid hash"). A bad file gets an `{"error": …}` body, which the save then
refuses (1435 for a too-small image, 100 otherwise); in a bulk POST one bad file spoils the
whole answer. An unknown or expired URL answers `{"error": "upload_url_expired"}`. How many POSTs
one URL takes and how many files one bulk POST may carry are not documented (§13): the
sandbox's switches `upload_url_posts` and `bulk_max_files` (no limit by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import time

from PIL import Image, UnidentifiedImageError

from sandbox.vk.state import MARKET_PHOTO_ALBUM, ApiError, MarketApi, Upload, bad_param

MIN_SIDE = 400
MAX_SIDE_SUM = 14_000
MAX_BYTES = 50 * 1024 * 1024
MAX_RATIO = 20
THUMB_SIDE = 200


_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(rb'\b(name|filename)="((?:[^"\\]|\\.)*)"', re.IGNORECASE)


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body (RFC 7578): {name: (filename or None, bytes)}.

    Split on the boundary rather than through the `email` package, which costs about 1 ms of
    CPU a photo: the sandbox shares the host with the publisher it serves (docs/benchmarks.md).
    """
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/") or match is None:
        return {}
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, separator, value = part.partition(b"\r\n\r\n")
        if not separator:
            continue
        if value.endswith(b"\r\n"):
            value = value[:-2]
        disposition = next(
            (
                line
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition:")
            ),
            b"",
        )
        params = {
            key.lower(): raw.replace(b'\\"', b'"').decode("utf-8", "replace")
            for key, raw in _DISPOSITION_PARAM.findall(disposition)
        }
        if params.get(b"name"):
            fields[params[b"name"]] = (params.get(b"filename"), value)
    return fields


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]


URL_EXPIRED = {"error": "upload_url_expired", "error_descr": "This upload URL is not valid"}


def upload_files(fields: dict[str, tuple[str | None, bytes]], *, bulk: bool) -> list[str]:
    """The file fields of one POST: `file` for a plain URL, `file1`, `file2`, … for a bulk one."""
    if not bulk:
        return ["file"] if fields.get("file", (None, b""))[1] else []
    names: list[str] = []
    while f"file{len(names) + 1}" in fields:
        names.append(f"file{len(names) + 1}")
    return names


def check_files(fields: dict[str, tuple[str | None, bytes]]) -> dict[str, tuple | dict]:
    """Every file field's `_check_image`, done before the sandbox takes its lock: decoding
    images under it would hold back the API requests of every other thread."""
    names = upload_files(fields, bulk=False) + upload_files(fields, bulk=True)
    return {name: _check_image(fields[name][1]) for name in names}


def _check_image(file_bytes: bytes) -> tuple[int, int, bytes] | dict:
    """(width, height, thumbnail JPEG) of a good image, or the upload server's error body."""
    if len(file_bytes) > MAX_BYTES:
        return {"error": "file_too_large", "error_descr": "The file is larger than 50 MB"}
    try:
        with Image.open(io.BytesIO(file_bytes)) as image:
            width, height = image.size
            # A JPEG is decoded straight at a reduced scale (1/8 of an 800×800 upload: DC
            # coefficients only, a tenth of the work of a full decode). Every coefficient is
            # still read, so a broken or truncated file fails here as it would at VK; VK's own
            # decoding runs on VK's servers, ours on the publisher's host.
            image.draft("RGB", (THUMB_SIDE // 2, THUMB_SIDE // 2))
            image.load()
            thumb = image.convert("RGB")
            thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
            buffer = io.BytesIO()
            thumb.save(buffer, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return {"error": "bad_image", "error_descr": "The file is not an image"}
    if width < MIN_SIDE or height < MIN_SIDE:
        return {
            "error": "size_too_low",
            "error_descr": f"Image is {width}x{height}, minimum 400x400",
        }
    if width + height > MAX_SIDE_SUM:
        return {"error": "size_too_large", "error_descr": "Width + height exceeds 14000 px"}
    if max(width, height) > MAX_RATIO * min(width, height):
        return {"error": "bad_ratio", "error_descr": "Side ratio exceeds 20:1"}
    return width, height, buffer.getvalue()


def handle_upload(
    api: MarketApi,
    key: str,
    fields: dict[str, tuple[str | None, bytes]],
    checked: dict[str, tuple | dict] | None = None,
) -> dict:
    """The upload server's JSON answer for one POST (`checked`: `check_files(fields)`)."""
    if checked is None:
        checked = check_files(fields)
    url = api.upload_urls.get(key)
    if url is None or url.expired:
        return dict(URL_EXPIRED)
    if api.upload_url_posts is not None and url.posts >= api.upload_url_posts:
        return dict(URL_EXPIRED)  # the uploads it took stay good to save
    url.posts += 1
    files = upload_files(fields, bulk=url.bulk)
    if not files:
        field_name = "file1" if url.bulk else "file"
        return {"error": "no_file", "error_descr": f"No file in the field '{field_name}'"}
    if url.bulk and api.bulk_max_files is not None and len(files) > api.bulk_max_files:
        return {
            "error": "too_many_files",
            "error_descr": f"At most {api.bulk_max_files} files in one upload",
        }
    uploads: list[Upload] = []
    for number, name in enumerate(files, start=1):
        check = checked[name]
        if isinstance(check, dict):
            check = dict(check)
            if url.bulk:
                check["error_descr"] = f"file{number}: {check['error_descr']}"
            return check
        width, height, thumb = check
        upload = Upload(
            key=f"{key}.{url.posts}.{number}",
            group_id=url.group_id,
            user_id=url.user_id,
            created=time.time(),
            url_key=key,
            width=width,
            height=height,
            thumb=thumb,
            sha256=hashlib.sha256(fields[name][1]).hexdigest(),
        )
        uploads.append(upload)
    for upload in uploads:
        api.uploads[upload.key] = upload
    data = {"k": [upload.key for upload in uploads], "g": url.group_id, "b": int(url.bulk)}
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return {
        "album_id": MARKET_PHOTO_ALBUM,
        "meta": f"{payload}.{_sign(api.upload_secret, payload)}",
    }


def read_upload_response(api: MarketApi, upload_response: str) -> tuple[list[Upload], bool]:
    """The uploads an `upload_response` stands for and whether it came from a bulk URL, or
    VK's error for market.saveProductPhoto(Bulk)."""
    try:
        body = json.loads(upload_response)
    except ValueError:
        raise bad_param("upload_response is invalid") from None
    if not isinstance(body, dict):
        raise bad_param("upload_response is invalid")
    error = body.get("error")
    if error == "size_too_low":
        raise ApiError(1435, "photo should be at least 400x400")
    if error:
        raise bad_param(f"upload_response is invalid: {body.get('error_descr') or error}")
    meta = body.get("meta")
    if not body.get("album_id") or not isinstance(meta, str) or "." not in meta:
        raise bad_param("upload_response is undefined")
    payload, signature = meta.rsplit(".", 1)
    if not hmac.compare_digest(_sign(api.upload_secret, payload), signature):
        raise ApiError(121)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        uploads = [api.uploads[key] for key in data["k"]]
        bulk = bool(data["b"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(121) from None
    if not uploads:
        raise ApiError(121)
    return uploads, bulk
