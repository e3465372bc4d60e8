import KilnCore
internal import CZlib

/// A `z_stream` at a stable heap address (zlib keeps pointers into it),
/// started by `start` and ended with `end` when released.
final class ZlibStream {
    let pointer: UnsafeMutablePointer<z_stream>
    private let end: (UnsafeMutablePointer<z_stream>) -> Int32

    /// - Throws: when `start` does not return `Z_OK`, naming `what`.
    init(
        _ what: String, start: (UnsafeMutablePointer<z_stream>) -> Int32, end: @escaping (UnsafeMutablePointer<z_stream>) -> Int32
    ) throws(LayerWriteError) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: z_stream())
        let status = start(pointer)
        guard status == Z_OK else {
            pointer.deinitialize(count: 1)
            pointer.deallocate()
            throw .compressionFailed(format: "gzip", detail: "zlib refused to initialize \(what) (status \(status))")
        }
        self.end = end
    }

    deinit {
        _ = end(pointer)
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
