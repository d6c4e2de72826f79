"""Named bounds for the S3 front door.

Every buffer, loop and window the S3 layer keeps has its limit here, with unit
and reason. Relations between limits are asserted at import so that a change to
one cannot silently break another.
"""

from typing import Final

# --- SigV4 request authentication (frontend/s3/sigv4.py) ---

# seconds; AWS refuses a request whose x-amz-date is further than 15 minutes from
# the server clock (RequestTimeTooSkewed), which bounds how long a captured
# header-signed request can be replayed.
request_time_skew_s_max: Final = 15 * 60

# seconds; the longest X-Amz-Expires AWS accepts on a presigned URL (one week).
presigned_expires_s_max: Final = 7 * 24 * 3600

# --- aws-chunked body decoding (frontend/s3/chunked.py) ---

# bytes; largest single aws-chunked chunk accepted. SDKs send 64 KiB (botocore,
# Go) to 128 KiB (Java) chunks; 16 MiB leaves room for any sane client while a
# hostile chunk-size line cannot announce an unbounded chunk.
chunk_bytes_max: Final = 16 * 1024 * 1024

# bytes; longest framing line (chunk header or trailer) including its CRLF. A
# signed chunk header is ~100 bytes; trailers carry one checksum each.
chunk_line_bytes_max: Final = 4096

# bytes; largest piece of chunk data yielded (and requested from the socket) at
# once, so a 16 MiB chunk streams through in bounded slices rather than one
# buffer.
chunk_slice_bytes_max: Final = 256 * 1024

# count; trailer headers accepted after the final chunk. SDKs send one checksum
# (plus the trailer signature); this only stops an endless trailer section.
trailer_count_max: Final = 16

assert chunk_line_bytes_max < chunk_slice_bytes_max <= chunk_bytes_max
assert request_time_skew_s_max < presigned_expires_s_max
