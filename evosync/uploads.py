"""A cap on the size of a whole upload request, enforced before anything reaches the disk.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE leaves files out, and its temporary-file handler writes
every byte of a large "photo" to disk before the form can say it is too big (a 300 MB upload
was written in full before the 10 MB check, issue 13 item 11). This handler comes first in
FILE_UPLOAD_HANDLERS: it refuses a request whose declared length is over UPLOAD_MAX_REQUEST_BYTES
before parsing, and counts the bytes of the files as they stream (chunked bodies declare no
length), raising before the next handler writes the chunk. RequestDataTooBig is Django's
"suspicious request" error: the client gets a 400.

The proxy in front should refuse such bodies even earlier (nginx `client_max_body_size 12m;`,
docs/security.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class CappedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def _limit(self) -> int:
        return settings.UPLOAD_MAX_REQUEST_BYTES

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self._limit():
            raise RequestDataTooBig("The upload is larger than UPLOAD_MAX_REQUEST_BYTES.")

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self._limit():
            raise RequestDataTooBig("The upload is larger than UPLOAD_MAX_REQUEST_BYTES.")
        return raw_data

    def file_complete(self, file_size):
        return None
