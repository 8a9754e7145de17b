"""Image files built byte by byte for upload tests and bench/photo_bomb.py.

`bomb_png` is a decompression bomb: a valid PNG of one grey level whose rows of zeros deflate
about a thousand to one, so 10000×10000 pixels (100 MB once decoded, 300 MB as RGB) weigh about
97 KB on the wire. Built row by row, it never holds the decoded image in memory.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREYSCALE, BIT_DEPTH = 0, 8


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 10_000, height: int = 10_000) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, BIT_DEPTH, GREYSCALE, 0, 0, 0)
    row = b"\x00" * (width + 1)  # filter type 0, then one byte per pixel
    deflate = zlib.compressobj(9)
    data = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
