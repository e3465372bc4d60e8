/// Entry points of the fuzz targets (`fuzz/`, `scripts/fuzz`): untrusted
/// bytes parsed exactly as kiln parses them, the result thrown away. Errors
/// are expected; a crash, a hang or a sanitizer report is the bug.
public enum ArchiveFuzzing {
    /// A tar stream: every member's header, then its content (bounded).
    public static func tar(_ bytes: [UInt8]) {
        let reader = TarReader(source: MemoryByteSource(bytes))
        while let member = try? reader.next() {
            _ = member
            _ = try? reader.readContent(limit: 1 << 20)
        }
    }

    /// Compressed bytes: the first byte picks gzip, zstd or xz (as layer
    /// blobs, `.deb` members and repository indexes are), the rest is the
    /// stream, decompressed to at most 16 MiB.
    public static func decompress(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let formats: [DecompressionFormat] = [.gzip, .zstd, .xz]
        _ = try? Decompressor.decompress(Array(bytes.dropFirst()), format: formats[Int(first) % formats.count], limit: 16 << 20)
        _ = try? Decompressor(detectingFormatOf: MemoryByteSource(Array(bytes.dropFirst())))
    }
}
