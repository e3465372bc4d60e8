/// A response body: byte chunks as they arrive, read once.
///
/// Iterating throws only ``HTTPTransportError`` (the connection failed or
/// the request's timeout passed while the body was streaming).
public struct HTTPBody: AsyncSequence, Sendable {
    /// One chunk of the body, as the transport received it.
    public typealias Element = [UInt8]

    private let makeNext: @Sendable () -> (() async throws(HTTPTransportError) -> [UInt8]?)

    /// A body that yields `next()` until it returns nil. `makeNext` is
    /// called once per iterator.
    init(makeNext: @escaping @Sendable () -> (() async throws(HTTPTransportError) -> [UInt8]?)) {
        self.makeNext = makeNext
    }

    /// A body of the given chunks (for test doubles and small bodies).
    public init(chunks: [[UInt8]]) {
        self.init {
            var remaining = chunks[...]
            return { remaining.popFirst() }
        }
    }

    /// An iterator over the chunks.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(next: makeNext())
    }

    /// Reads the chunks in order.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: () async throws(HTTPTransportError) -> [UInt8]?

        init(next: @escaping () async throws(HTTPTransportError) -> [UInt8]?) {
            nextChunk = next
        }

        /// The next chunk, or nil at the end of the body.
        /// - Throws: ``HTTPTransportError``.
        public mutating func next() async throws -> [UInt8]? {
            try await nextChunk()
        }
    }

    /// The whole body in memory, refused past `limit` bytes (for small
    /// bodies: error documents, tokens, manifests).
    /// - Throws: ``HTTPTransportError``; `.tooLarge` past the limit.
    public func collect(upTo limit: Int) async throws(HTTPTransportError) -> [UInt8] {
        let next = makeNext()
        var bytes: [UInt8] = []
        while let chunk = try await next() {
            guard bytes.count + chunk.count <= limit else {
                throw HTTPTransportError(.tooLarge, "the body is larger than \(limit) bytes")
            }
            bytes += chunk
        }
        return bytes
    }
}
