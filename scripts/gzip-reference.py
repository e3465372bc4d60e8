#!/usr/bin/env python3
"""kiln's gzip layer format, written independently of kiln.

    scripts/gzip-reference.py LAYER.tar > LAYER.tar.gz

Reads an uncompressed layer (kiln's `compression: none` blob) and writes
the gzip blob docs/layers.md specifies, using nothing but Python's zlib
module; the golden test (Tests/KilnTests/GzipGoldenTests.swift) expects
kiln's own gzip blob to be byte-identical. On stderr: the zlib version and
how many blocks were deflated and stored, and how many of the deflated ones
had a flat histogram but repeats (the rule's second test).

The rules, from docs/layers.md "gzip":
- the stream is cut every 1 MiB; every block but the last is full;
- a block is raw deflate at level 6 (window 15, memLevel 8, default
  strategy), primed with the 32 KiB before it as dictionary, ending with a
  sync flush, the last one with Z_FINISH;
- unless it looks incompressible, then it is deflate stored blocks of at
  most 65535 bytes (BFINAL only on the stream's last one);
- header 1f 8b 08 00 00000000 00 ff, trailer CRC-32 and length mod 2^32.
"""
import array
import struct
import sys
import zlib

BLOCK = 1 << 20
WINDOW = 32 * 1024
LEVEL = 6
HEADER = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255])


def flat_histogram(data):
    """256 * sum(count^2) <= 65/64 * n^2, in integers."""
    n = len(data)
    square_sum = sum(data.count(bytes([value])) ** 2 for value in range(256))
    return 64 * 256 * square_sum <= 65 * n * n


def little_endian_words(data):
    """The 32-bit little-endian word starting at each of positions 0..n-4."""
    count = len(data) - 3
    words = [0] * count
    for phase in range(4):
        positions = range(phase, count, 4)
        lane = array.array("I")
        lane.frombytes(data[phase:phase + 4 * len(positions)])
        if sys.byteorder == "big":
            lane.byteswap()
        words[phase::4] = lane
    return words


def few_repeats(data):
    """At most n // 256 positions start a word that the 2^14-slot table
    (slot = (word * 2654435761 mod 2^32) >> 18, holding the last position
    seen there) shows at an earlier position."""
    limit = len(data) // 256
    table = [-1] * (1 << 14)
    repeats = 0
    words = little_endian_words(data)
    for position, word in enumerate(words):
        slot = ((word * 2654435761) & 0xFFFFFFFF) >> 18
        previous = table[slot]
        if previous >= 0 and words[previous] == word:
            repeats += 1
            if repeats > limit:
                return False
        table[slot] = position
    return True


def classify(data):
    """'stored' when the block looks incompressible; else why it is deflated."""
    if len(data) < 16 * 1024 or not flat_histogram(data):
        return "deflated"
    return "stored" if few_repeats(data) else "flat but repeating"


def stored(data, last):
    pieces = []
    offset = 0
    while True:
        length = min(65535, len(data) - offset)
        final = last and offset + length == len(data)
        pieces.append(struct.pack("<BHH", 1 if final else 0, length, length ^ 0xFFFF))
        pieces.append(data[offset:offset + length])
        offset += length
        if offset >= len(data):
            return b"".join(pieces)


def deflated(data, dictionary, last):
    options = {"zdict": dictionary} if dictionary else {}
    stream = zlib.compressobj(LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, **options)
    return stream.compress(data) + stream.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def gzip_layer(tar):
    starts = range(0, len(tar), BLOCK) if tar else [0]
    out = [HEADER]
    counts = {"deflated": 0, "stored": 0, "flat but repeating": 0}
    for start in starts:
        block = tar[start:start + BLOCK]
        last = start + BLOCK >= len(tar)
        kind = classify(block)
        counts[kind] += 1
        if kind == "stored":
            out.append(stored(block, last))
        else:
            out.append(deflated(block, tar[max(0, start - WINDOW):start], last))
            if kind != "deflated":
                counts["deflated"] += 1
    out.append(struct.pack("<II", zlib.crc32(tar), len(tar) & 0xFFFFFFFF))
    return b"".join(out), counts


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gzip-reference.py LAYER.tar > LAYER.tar.gz")
    with open(sys.argv[1], "rb") as file:
        tar = file.read()
    blob, counts = gzip_layer(tar)
    sys.stdout.buffer.write(blob)
    print(f"zlib {zlib.ZLIB_RUNTIME_VERSION}; blocks deflated {counts['deflated']}, stored {counts['stored']}, "
          f"flat but repeating {counts['flat but repeating']}", file=sys.stderr)


if __name__ == "__main__":
    main()
