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
    }

    /// The value of `name` (any case), or nil.
    public subscript(name: String) -> String? {
        let key = name.lowercased()
        return fields.first { $0.name.lowercased() == key }?.value
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
/// its decompressor), so only the stanza being read is held in memory.
public struct Deb822Parser: Sendable {
    private let source: String
    private let allowComments: Bool
    private let keep: Set<String>?
    private var skipping = false
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
    ///     descriptions) are never turned into strings.
    public init(source: String, allowComments: Bool = true, keep: Set<String>? = nil) {
        self.source = source
        self.allowComments = allowComments
        self.keep = keep
    }

    /// Parses every stanza of a whole text.
    /// - Throws: ``Deb822Error`` (see ``feed(_:)``).
    public static func parse(_ text: String, source: String, allowComments: Bool = true) throws(Deb822Error) -> [Deb822Stanza] {
        var parser = Deb822Parser(source: source, allowComments: allowComments)
        return try parser.feed(Array(text.utf8)) + parser.finish()
    }

    /// Consumes the next chunk and returns the stanzas it completes.
    /// - Throws: ``Deb822Error`` for a line that is neither a field, a
    ///   continuation, a comment nor blank, for a continuation with no field
    ///   before it, and for a field given twice in one stanza.
    public mutating func feed(_ chunk: some Collection<UInt8>) throws(Deb822Error) -> [Deb822Stanza] {
        var done: [Deb822Stanza] = []
        var lineStart = chunk.startIndex
        var index = chunk.startIndex
        while index != chunk.endIndex {
            if chunk[index] == UInt8(ascii: "\n") {
                if pending.isEmpty {
                    try line(chunk[lineStart..<index], into: &done)
                } else {
                    pending.append(contentsOf: chunk[lineStart..<index])
                    let whole = pending
                    pending.removeAll(keepingCapacity: true)
                    try line(whole[...], into: &done)
                }
                lineStart = chunk.index(after: index)
            }
            index = chunk.index(after: index)
        }
        pending.append(contentsOf: chunk[lineStart...])
        return done
    }

    /// Ends the input and returns the last stanza, if any.
    /// - Throws: ``Deb822Error`` for a malformed last line.
    public mutating func finish() throws(Deb822Error) -> [Deb822Stanza] {
        var done: [Deb822Stanza] = []
        if !pending.isEmpty {
            let whole = pending
            pending = []
            try line(whole[...], into: &done)
        }
        endStanza(into: &done)
        return done
    }

    private mutating func endStanza(into done: inout [Deb822Stanza]) {
        skipping = false
        guard !names.isEmpty else { return }
        done.append(Deb822Stanza(fields: fields, line: start))
        fields = []
        names = []
    }

    private mutating func line(_ raw: some Collection<UInt8>, into done: inout [Deb822Stanza]) throws(Deb822Error) {
        lineNumber += 1
        // Continuations of skipped fields are most of a Packages index.
        if skipping, let first = raw.first, first == 0x20 || first == 0x09 { return }
        var bytes = Array(raw)[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            endStanza(into: &done)
            return
        }
        let first = bytes.first!
        if allowComments, first == UInt8(ascii: "#") { return }
        if first == 0x20 || first == 0x09 {
            guard !fields.isEmpty || skipping else { throw fail("continuation line with no field before it") }
            if skipping { return }
            fields[fields.count - 1].value += "\n" + Deb822Parser.trimmed(bytes)
            return
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            throw fail("expected \"Name: value\", found \"\(String(decoding: bytes, as: UTF8.self))\"")
        }
        let name = String(decoding: bytes[..<colon], as: UTF8.self)
        guard !name.contains(" "), !name.contains("\t") else { throw fail("invalid field name \"\(name)\"") }
        let key = name.lowercased()
        guard names.insert(key).inserted else { throw fail("field \"\(name)\" given twice in one stanza") }
        if names.count == 1 { start = lineNumber }
        if let keep, !keep.contains(key) {
            skipping = true
            return
        }
        skipping = false
        fields.append((name, Deb822Parser.trimmed(bytes[bytes.index(after: colon)...])))
    }

    private func fail(_ message: String) -> Deb822Error {
        Deb822Error(source: source, line: lineNumber, message: message)
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }
}
