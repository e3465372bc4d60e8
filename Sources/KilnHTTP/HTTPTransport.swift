public import Foundation

/// What kiln asks of HTTP: send one request, get the status and headers
/// back once they arrive, then stream the body.
///
/// ``AsyncHTTPClientTransport`` is the one implementation; tests use
/// doubles only for cases a real loopback peer cannot produce.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns when the response head has arrived.
    ///
    /// The caller must consume ``HTTPResponse/body`` (or drop the response)
    /// before the connection is reused; it is streamed, never buffered.
    /// - Throws: ``HTTPTransportError`` when the request fails below HTTP
    ///   (connection, name resolution, TLS, proxy, timeout) or its body
    ///   file cannot be read. An HTTP error status is a response, not an
    ///   error.
    func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse
}

/// One HTTP request.
public struct HTTPRequest: Sendable {
    /// `GET`, `HEAD`, `PUT`, … (upper case, as sent).
    public var method: String
    /// An absolute `http://` or `https://` URL.
    public var url: URL
    /// Header fields sent as given (a `User-Agent: kiln` is added when
    /// none is set).
    public var headers: HTTPHeaderFields
    /// The body, if any.
    public var body: HTTPRequestBody?
    /// The time the whole exchange may take: until the response head has
    /// arrived and then until the last body chunk has been read. (A peer
    /// that goes silent fails sooner, after the transport's read timeout.)
    public var timeout: Duration

    /// A request; by default a `GET` without a body that may take 30 minutes.
    public init(
        method: String = "GET", url: URL, headers: HTTPHeaderFields = [:], body: HTTPRequestBody? = nil,
        timeout: Duration = .seconds(1800)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// What a request sends after its head.
public enum HTTPRequestBody: Sendable {
    /// Bytes held in memory (small bodies: manifests, tokens).
    case bytes([UInt8])
    /// The contents of a file, streamed from disk in fixed-size chunks with
    /// its size as `Content-Length` (blobs).
    case file(path: String)
    /// `length` bytes of a file from byte `offset`, streamed from disk like
    /// ``file(path:)`` with `length` as `Content-Length` (upload chunks).
    /// The file must hold them all: a shorter one fails the request.
    case fileRange(path: String, offset: Int64, length: Int64)
}

/// A response's status and headers, and its body as a stream.
public struct HTTPResponse: Sendable {
    /// The status code (`200`, `404`, …), after redirects were followed.
    public var status: Int
    /// The header fields.
    public var headers: HTTPHeaderFields
    /// The body, read once, chunk by chunk.
    public var body: HTTPBody

    /// A response (transports make these; tests make doubles).
    public init(status: Int, headers: HTTPHeaderFields = [:], body: HTTPBody = HTTPBody(chunks: [])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `Content-Length` when the server sent a valid one, else -1.
    public var expectedLength: Int64 {
        headers["Content-Length"].flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }.flatMap { $0 >= 0 ? $0 : nil } ?? -1
    }
}

/// Header fields in order, names compared without regard to case.
public struct HTTPHeaderFields: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The fields in the order they were added or received.
    public private(set) var fields: [Field]

    /// One header field.
    public struct Field: Sendable, Hashable {
        /// The name as written.
        public var name: String
        /// The value.
        public var value: String
    }

    /// Fields from a list of name-value pairs, kept in order.
    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// Fields from a literal, kept in order.
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    /// The first value of the field `name`, or nil; setting replaces every
    /// field of that name (nil removes them).
    public subscript(name: String) -> String? {
        get { fields.first { $0.name.caseInsensitiveEquals(name) }?.value }
        set {
            fields.removeAll { $0.name.caseInsensitiveEquals(name) }
            if let newValue { fields.append(Field(name: name, value: newValue)) }
        }
    }

    /// Every value of the field `name`, in order.
    public func values(for name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveEquals(name) }.map(\.value)
    }

    /// Adds a field, keeping those of the same name.
    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Iterates the fields in order.
    public func makeIterator() -> IndexingIterator<[Field]> {
        fields.makeIterator()
    }
}

extension String {
    /// ASCII case-insensitive equality (header names and host names are ASCII).
    func caseInsensitiveEquals(_ other: String) -> Bool {
        utf8.count == other.utf8.count && zip(utf8, other.utf8).allSatisfy { lowerASCII($0) == lowerASCII($1) }
    }
}

/// `byte` with A-Z mapped to a-z.
@inline(__always)
func lowerASCII(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}
