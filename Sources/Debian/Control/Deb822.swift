import KilnCore
internal import Glibc

/// One paragraph of a deb822 file (a `Packages` entry, a `Release` header, a
/// `control` file, a `*.sources` entry): fields in file order.
///
/// Field names compare case-insensitively, as dpkg and apt treat them.
/// Values keep their continuation lines joined with `\n`, each without its
/// leading space, so a folded `Depends` and a multi-line `SHA256` both read
/// back as written.
public struct Deb822Stanza: Hashable, Sendable {
    /// `(name, value)` in file order; names as written.
    public private(set) var fields: [(name: String, value: String)]
    /// The 1-based line the stanza starts on, for messages.
    public var line: Int

    /// Builds a stanza from fields already split.
    public init(fields: [(name: String, value: String)], line: Int = 1) {
        self.fields = fields
        self.line = line
        keys = fields.map { $0.name.lowercased() }
    }

    /// Lowercase field names, computed once: lookups are the hot path when
    /// reading an index.
    private let keys: [String]

    /// The value of `name` (any case), or nil.
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return keys.firstIndex(of: key).map { fields[$0].value }
    }

    public static func == (lhs: Deb822Stanza, rhs: Deb822Stanza) -> Bool {
        lhs.line == rhs.line && lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(line)
        for field in fields {
            hasher.combine(field.name)
            hasher.combine(field.value)
        }
    }
}

/// A deb822 file that cannot be read.
public struct Deb822Error: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file (or URL) the text came from.
    public var source: String
    /// 1-based line of the problem.
    public var line: Int
    /// What is wrong.
    public var message: String

    /// Creates an error; `line` is 1-based and points at the offending line, not
    /// the start of its stanza.
    public init(source: String, line: Int, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String { "\(source):\(line): \(message)" }
}

/// Parser for deb822 text: paragraphs of `Name: value` fields separated by
/// blank lines, continuation lines starting with a space or tab.
///
/// Works on bytes fed in chunks (a `Packages` index is read straight from
/// its decompressor), so only the stanza being read is held in memory. The
/// scan runs over raw buffers: a 50 MB index is mostly lines to skip.
public struct Deb822Parser: Sendable {
    private let source: String
    private let allowComments: Bool
    /// Lowercase names of the fields to keep, as bytes, or nil for all.
    private let keep: [[UInt8]]?
    private var skipping = false
    private var inStanza = false
    private var pending: [UInt8] = []
    private var fields: [(name: String, value: String)] = []
    private var names: Set<String> = []
    private var start = 0
    private var lineNumber = 0

    /// - Parameters:
    ///   - source: the file name or URL, for messages.
    ///   - allowComments: accept `#` lines between fields (apt's `*.sources`
    ///     and control files allow them; `Packages` and `Release` do not use
    ///     them, and a field can never start with `#` there either).
    ///   - keep: lowercase names of the fields to keep, or nil for all.
    ///     Reading a large index is much cheaper when unused fields (long
    ///     descriptions) are never turned into strings; duplicates are then
    ///     only detected among the kept fields.
    public init(source: String, allowComments: Bool = true, keep: Set<String>? = nil) {
        self.source = source
        self.allowComments = allowComments
        self.keep = keep.map { $0.sorted().map { Array($0.utf8) } }
    }

    /// Parses every stanza of a whole text.
    /// - Throws: ``Deb822Error`` (see ``feed(_:)``).
    public static func parse(_ text: String, source: String, allowComments: Bool = true) throws(Deb822Error) -> [Deb822Stanza] {
        var parser = Deb822Parser(source: source, allowComments: allowComments)
        return try parser.feed(Array(text.utf8)[...]) + parser.finish()
    }

    /// Consumes the next chunk and returns the stanzas it completes.
    /// - Throws: ``Deb822Error`` for a line that is neither a field, a
    ///   continuation, a comment nor blank, for a continuation with no field
    ///   before it, and for a field given twice in one stanza.
    public mutating func feed(_ chunk: ArraySlice<UInt8>) throws(Deb822Error) -> [Deb822Stanza] {
        var done: [Deb822Stanza] = []
        var failure: Deb822Error?
        chunk.withUnsafeBufferPointer { buffer in
            var lineStart = 0
            while lineStart < buffer.count {
                let rest = UnsafeBufferPointer(rebasing: buffer[lineStart...])
                guard let newline = Deb822Parser.find(UInt8(ascii: "\n"), in: rest) else { break }
                if skipping, pending.isEmpty, newline > 0, rest[0] == 0x20 || rest[0] == 0x09 {
                    lineNumber += 1
                    lineStart += newline + 1
                    continue
                }
                do {
                    if pending.isEmpty {
                        try line(UnsafeBufferPointer(rebasing: rest[..<newline]), into: &done)
                    } else {
                        pending.append(contentsOf: rest[..<newline])
                        let whole = pending
                        pending.removeAll(keepingCapacity: true)
                        try whole.withUnsafeBufferPointer { try line($0, into: &done) }
                    }
                } catch let error as Deb822Error {
                    failure = error
                    return
                } catch {
                    preconditionFailure("line(_:into:) throws only Deb822Error")
                }
                lineStart += newline + 1
            }
            pending.append(contentsOf: buffer[lineStart...])
        }
        if let failure { throw failure }
        return done
    }

    /// Consumes the next chunk (see ``feed(_:)-(ArraySlice<UInt8>)``).
    public mutating func feed(_ chunk: [UInt8]) throws(Deb822Error) -> [Deb822Stanza] {
        try feed(chunk[...])
    }

    /// Ends the input and returns the last stanza, if any.
    /// - Throws: ``Deb822Error`` for a malformed last line.
    public mutating func finish() throws(Deb822Error) -> [Deb822Stanza] {
        var done: [Deb822Stanza] = []
        if !pending.isEmpty {
            let whole = pending
            pending = []
            var failure: Deb822Error?
            whole.withUnsafeBufferPointer { buffer in
                do {
                    try line(buffer, into: &done)
                } catch let error as Deb822Error {
                    failure = error
                } catch {
                    preconditionFailure("line(_:into:) throws only Deb822Error")
                }
            }
            if let failure { throw failure }
        }
        endStanza(into: &done)
        return done
    }

    private static func find(_ byte: UInt8, in buffer: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = buffer.baseAddress, buffer.count > 0,
              let hit = memchr(base, Int32(byte), buffer.count) else { return nil }
        return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
    }

    private mutating func endStanza(into done: inout [Deb822Stanza]) {
        skipping = false
        guard inStanza else { return }
        done.append(Deb822Stanza(fields: fields, line: start))
        fields = []
        names = []
        inStanza = false
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    private mutating func line(_ raw: UnsafeBufferPointer<UInt8>, into done: inout [Deb822Stanza]) throws(Deb822Error) {
        lineNumber += 1
        // Continuations of skipped fields are most of a Packages index.
        if skipping, let first = raw.first, Deb822Parser.isBlank(first) { return }
        var end = raw.count
        if end > 0, raw[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var firstNonBlank = 0
        while firstNonBlank < end, Deb822Parser.isBlank(raw[firstNonBlank]) { firstNonBlank += 1 }
        if firstNonBlank == end {
            endStanza(into: &done)
            return
        }
        let bytes = UnsafeBufferPointer(rebasing: raw[..<end])
        let first = bytes[0]
        if allowComments, first == UInt8(ascii: "#") { return }
        if Deb822Parser.isBlank(first) {
            guard !fields.isEmpty || skipping else { throw fail("continuation line with no field before it") }
            if skipping { return }
            fields[fields.count - 1].value += "\n" + Deb822Parser.trimmed(bytes)
            return
        }
        guard let colon = Deb822Parser.find(UInt8(ascii: ":"), in: bytes) else {
            throw fail("expected \"Name: value\", found \"\(String(decoding: bytes, as: UTF8.self))\"")
        }
        let nameBytes = UnsafeBufferPointer(rebasing: bytes[..<colon])
        if !inStanza {
            inStanza = true
            start = lineNumber
        }
        if let keep, !Deb822Parser.isKept(nameBytes, keep) {
            skipping = true
            return
        }
        skipping = false
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard !nameBytes.contains(where: Deb822Parser.isBlank) else { throw fail("invalid field name \"\(name)\"") }
        guard names.insert(name.lowercased()).inserted else { throw fail("field \"\(name)\" given twice in one stanza") }
        fields.append((name, Deb822Parser.trimmed(UnsafeBufferPointer(rebasing: bytes[(colon + 1)...]))))
    }

    private static func isKept(_ name: UnsafeBufferPointer<UInt8>, _ keep: [[UInt8]]) -> Bool {
        guard let first = name.first else { return false }
        let lowerFirst = first >= 0x41 && first <= 0x5a ? first | 0x20 : first
        for candidate in keep where candidate.count == name.count && candidate[0] == lowerFirst {
            if equalsLowercased(name, candidate) { return true }
        }
        return false
    }

    /// ASCII case-insensitive comparison with an already lowercase name.
    private static func equalsLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ lower: [UInt8]) -> Bool {
        guard bytes.count == lower.count else { return false }
        for index in 0..<lower.count {
            var byte = bytes[index]
            if byte >= 0x41, byte <= 0x5a { byte |= 0x20 }
            if byte != lower[index] { return false }
        }
        return true
    }

    private func fail(_ message: String) -> Deb822Error {
        Deb822Error(source: source, line: lineNumber, message: message)
    }

    private static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var lower = 0
        var upper = bytes.count
        while lower < upper, isBlank(bytes[lower]) { lower += 1 }
        while upper > lower, isBlank(bytes[upper - 1]) { upper -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[lower..<upper]), as: UTF8.self)
    }
}
