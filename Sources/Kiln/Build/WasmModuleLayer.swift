import Archive
import Glibc
import KilnCore
import OCI
import Plan

/// A `wasm` layer (SPEC §1.5): the module file's bytes, unchanged, are the
/// blob — no tar, no compression — so its digest and its diff_id are both
/// the SHA-256 of the module file, and its media type is runwasi's
/// ``MediaType/wasmLayer``.
///
/// The file must be a WebAssembly binary: the magic `\0asm` and either
/// version 1 (a core module) or the component encoding (version `0x0d`,
/// layer 1), which runwasi's layer media type is named for. Anything else
/// is an error at the layer's place in the plan.
enum WasmModuleLayer {
    /// Bytes of the binary's preamble: the magic and the version.
    static let preambleSize = 8

    /// Why the preamble `bytes` (fewer when the file is shorter) is not a
    /// WebAssembly binary's, or nil when it is.
    static func problem(withPreamble bytes: [UInt8]) -> String? {
        guard bytes.count >= 4, bytes[..<4].elementsEqual([0x00, 0x61, 0x73, 0x6D]) else {
            return "is not a WebAssembly binary: it does not start with the magic \\0asm (00 61 73 6d)"
        }
        guard bytes.count == preambleSize else { return "is not a WebAssembly binary: it ends inside its 8-byte preamble" }
        let version = bytes[4...].map { Hex.string([$0]) }.joined(separator: " ")
        switch (bytes[4], bytes[5], bytes[6], bytes[7]) {
        case (1, 0, 0, 0): return nil  // a core module, version 1
        case (0x0D, 0, 1, 0): return nil  // a component (version 0x0d, layer 1)
        default: return "has WebAssembly version bytes \(version); kiln stores version 1 modules (01 00 00 00) and components (0d 00 01 00)"
        }
    }

    /// Copies the module into `staging` as a blob, hashing while it
    /// copies, and checks the preamble of the copy (what the blob holds).
    /// - Throws: ``LayerPlanError`` for a file that is not a WebAssembly
    ///   binary; ``FileIOError`` or ``LayoutError`` for I/O failures.
    static func write(_ wasm: WasmLayer, layer: LayerSpec, into staging: LayoutStaging) throws -> LayerBlob {
        let path = staging.temporaryBlobPath()
        let (digest, size) = try FileHashing.copy(from: wasm.module, to: path)
        let problem: String?
        do {
            problem = self.problem(withPreamble: try readPreamble(path))
        } catch {
            unlink(path)
            throw error
        }
        if let problem {
            unlink(path)
            throw LayerPlanError(layer: layer.name, location: layer.location, message: "module \(wasm.module) \(problem)")
        }
        try staging.commitBlob(at: path, digest: digest)
        return LayerBlob(
            digests: BlobDigests(diffID: digest, digest: digest, size: size, uncompressedSize: size), compression: .none, entryCount: 0)
    }

    private static func readPreamble(_ path: String) throws(FileIOError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileIOError(operation: "open", path: path, errno: errno) }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: preambleSize)
        var filled = 0
        while filled < preambleSize {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, preambleSize - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "read", path: path, errno: errno)
            }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes[..<filled])
    }

    /// The media type of a plan layer's blob.
    static func mediaType(of layer: LayerSpec, compression: Compression) -> String {
        layer.strategy.isTar ? MediaType.layer(compression) : MediaType.wasmLayer
    }
}
