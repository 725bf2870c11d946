"""The sandbox's photo upload server (docs/contracts/vk-market-api.md §4.1).

`POST /upload/<one-time key>` with a multipart field `file`. A good image (at least 400×400,
width + height ≤ 14 000, ≤ 50 MB, side ratio ≤ 20:1) gets `{"album_id": -53, "meta": "…"}`;
`meta` is opaque and HMAC-signed, so market.saveProductPhoto can tell a genuine answer from an
edited one (VK answers error 121 "Invalid hash"). A bad file gets an `{"error": …}` body, which
saveProductPhoto then refuses (1435 for a too-small image, 100 otherwise). Each URL works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from email.parser import BytesParser
from email.policy import HTTP

from PIL import Image, UnidentifiedImageError

from sandbox.vk.state import MARKET_PHOTO_ALBUM, ApiError, MarketApi, Upload, bad_param

MIN_SIDE = 400
MAX_SIDE_SUM = 14_000
MAX_BYTES = 50 * 1024 * 1024
MAX_RATIO = 20
THUMB_SIDE = 200


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart body: {name: (filename or None, bytes)}."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]


def handle_upload(api: MarketApi, key: str, file_bytes: bytes | None) -> dict:
    """The upload server's JSON answer for one POST."""
    upload = api.uploads.get(key)
    if upload is None or upload.used:
        return {"error": "upload_url_expired", "error_descr": "This upload URL is not valid"}
    upload.used = True
    if not file_bytes:
        return {"error": "no_file", "error_descr": "No file in the field 'file'"}
    if len(file_bytes) > MAX_BYTES:
        return {"error": "file_too_large", "error_descr": "The file is larger than 50 MB"}
    try:
        with Image.open(io.BytesIO(file_bytes)) as image:
            width, height = image.size
            # A JPEG is decoded straight at the smallest scale the thumbnail needs (a fifth of
            # the work at 800×800, which every test upload is); still a full decode, so a
            # broken file still fails here.
            image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
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
    upload.width, upload.height, upload.thumb = width, height, buffer.getvalue()
    payload = base64.urlsafe_b64encode(
        json.dumps({"k": key, "g": upload.group_id, "w": width, "h": height}).encode()
    ).decode()
    return {
        "album_id": MARKET_PHOTO_ALBUM,
        "meta": f"{payload}.{_sign(api.upload_secret, payload)}",
    }


def read_upload_response(api: MarketApi, upload_response: str) -> Upload:
    """The pending upload an `upload_response` stands for, or VK's error for saveProductPhoto."""
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
        upload = api.uploads[data["k"]]
    except (ValueError, KeyError, TypeError):
        raise ApiError(121) from None
    return upload
