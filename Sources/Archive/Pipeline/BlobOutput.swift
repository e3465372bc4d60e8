import KilnCore
import Crypto

/// Where a blob's bytes end: hashed (unless the caller needs no digest of
/// them) and written to the blob file.
final class BlobOutput {
    let path: String
    private let sink: FileByteSink
    private var hasher: SHA256?
    private(set) var size: Int64 = 0
    /// Bytes handed to ``FileByteSink/startWriteback(offset:count:)`` so far.
    private var writebackStarted: Int64 = 0
    /// How much is written between two writeback requests.
    static let writebackInterval: Int64 = 8 << 20

    /// Creates (or truncates) the file at `path`.
    init(path: String, hashing: Bool) throws(LayerWriteError) {
        self.path = path
        do {
            sink = try FileByteSink(creating: path)
        } catch {
            throw Self.mapped(error, path: path)
        }
        hasher = hashing ? SHA256() : nil
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(LayerWriteError) {
        hasher?.update(bufferPointer: bytes)
        do {
            try sink.write(bytes)
        } catch {
            throw Self.mapped(error, path: path)
        }
        size += Int64(bytes.count)
        if size - writebackStarted >= Self.writebackInterval {
            sink.startWriteback(offset: writebackStarted, count: size - writebackStarted)
            writebackStarted = size
        }
    }

    func write(_ bytes: [UInt8]) throws(LayerWriteError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(LayerWriteError) in try write(raw) } }.get()
    }

    /// Closes the file; the digest of everything written when hashing.
    func close() throws(LayerWriteError) -> ContentDigest? {
        do {
            try sink.close()
        } catch {
            throw Self.mapped(error, path: path)
        }
        return hasher.map { ContentDigest(sha256Bytes: $0.finalize()) }
    }

    private static func mapped(_ error: FileSinkError, path: String) -> LayerWriteError {
        switch error {
        case .create(_, let code): .blobCreate(path: path, errno: code)
        case .write(_, let code): .blobWrite(path: path, errno: code)
        }
    }
}
