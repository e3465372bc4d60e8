internal import CYAML

/// Reads one YAML document into a ``Node`` tree, through libyaml's event
/// parser.
///
/// Stricter than YAML itself, because a plan is reviewed by people: merge
/// keys (`<<`), custom tags, several documents, duplicate mapping keys and
/// non-scalar keys are errors. Anchors and aliases resolve.
public enum YAMLParser {
    /// Limits that keep a hostile or broken document from exhausting memory
    /// or the stack.
    public struct Limits: Sendable {
        /// Deepest nesting of sequences and mappings.
        public var maxDepth: Int
        /// Most nodes after alias expansion ("billion laughs" stop here).
        public var maxNodes: Int

        /// The defaults fit any hand-written plan with a wide margin; tighten them
        /// only to parse untrusted text with less memory.
        public init(maxDepth: Int = 64, maxNodes: Int = 1_000_000) {
            self.maxDepth = maxDepth
            self.maxNodes = maxNodes
        }
    }

    /// Parses `bytes` (UTF-8, or UTF-16 with a BOM).
    /// - Returns: the document's root node, or nil for a text without a
    ///   document (empty, or only comments).
    /// - Throws: ``YAMLError`` at the first problem.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(YAMLError) -> Node? {
        let parser = EventParser(bytes)
        var builder = TreeBuilder(limits: limits)
        while true {
            let done = try parser.next { event throws(YAMLError) in try builder.handle(event) }
            if done { return builder.root }
        }
    }

    /// Parses a string.
    public static func parse(_ text: String, limits: Limits = Limits()) throws(YAMLError) -> Node? {
        try parse(Array(text.utf8), limits: limits)
    }
}

/// A libyaml event, copied out of C memory.
enum Event {
    case streamStart
    case streamEnd
    case documentStart(Mark)
    case documentEnd
    case alias(anchor: String, mark: Mark)
    case scalar(Scalar, anchor: String?, tag: String?, mark: Mark)
    case sequenceStart(anchor: String?, tag: String?, mark: Mark)
    case sequenceEnd
    case mappingStart(anchor: String?, tag: String?, mark: Mark)
    case mappingEnd
}

/// Owns a heap-allocated `yaml_parser_t` and the input it reads: libyaml
/// keeps pointers to both, so neither may move.
final class EventParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private var finished = false

    init(_ bytes: [UInt8]) {
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        parser = .allocate(capacity: 1)
        guard yaml_parser_initialize(parser) == 1 else { fatalError("libyaml could not allocate a parser") }
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// Parses one event and hands it to `body`.
    /// - Returns: true once the stream has ended.
    func next(_ body: (Event) throws(YAMLError) -> Void) throws(YAMLError) -> Bool {
        if finished { return true }
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw parserError() }
        defer { yaml_event_delete(&event) }
        let copied = Self.copy(event)
        if case .streamEnd = copied { finished = true }
        try body(copied)
        return finished
    }

    private static func copy(_ event: yaml_event_t) -> Event {
        let mark = Mark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .streamStart
        case YAML_STREAM_END_EVENT:
            return .streamEnd
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(mark)
        case YAML_DOCUMENT_END_EVENT:
            return .documentEnd
        case YAML_ALIAS_EVENT:
            return .alias(anchor: string(event.data.alias.anchor) ?? "", mark: mark)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            return .scalar(Scalar(text: text, style: style(data.style)), anchor: string(data.anchor), tag: string(data.tag), mark: mark)
        case YAML_SEQUENCE_START_EVENT:
            let data = event.data.sequence_start
            return .sequenceStart(anchor: string(data.anchor), tag: string(data.tag), mark: mark)
        case YAML_SEQUENCE_END_EVENT:
            return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            let data = event.data.mapping_start
            return .mappingStart(anchor: string(data.anchor), tag: string(data.tag), mark: mark)
        case YAML_MAPPING_END_EVENT:
            return .mappingEnd
        default:
            // YAML_NO_EVENT is only produced after an error, which is thrown earlier.
            return .streamEnd
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: pointer)
    }

    private static func style(_ style: yaml_scalar_style_t) -> Scalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: .literal
        case YAML_FOLDED_SCALAR_STYLE: .folded
        default: .plain
        }
    }

    /// The byte offset of the `index`-th character of UTF-8 input (libyaml's
    /// marks count characters), or nil past the end or for UTF-16 input.
    private func byteOffset(ofCharacter index: Int) -> Int? {
        if input.count >= 2, (input[0] == 0xFF && input[1] == 0xFE) || (input[0] == 0xFE && input[1] == 0xFF) { return nil }
        var characters = 0
        for (offset, byte) in input.enumerated() where byte & 0xC0 != 0x80 {
            if characters == index { return offset }
            characters += 1
        }
        return nil
    }

    /// libyaml's own scanner or parser error, with its position and a hint
    /// where the cause is a common one.
    private func parserError() -> YAMLError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
        let mark = Mark(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1)
        var message = problem
        var contextLine: Int?
        if let context = p.context.map({ String(cString: $0) }) {
            let contextMark = Mark(line: Int(p.context_mark.line) + 1, column: Int(p.context_mark.column) + 1)
            message += " (\(context) at \(contextMark))"
            contextLine = contextMark.line
        }
        if let offset = byteOffset(ofCharacter: Int(p.problem_mark.index)), input[offset] == UInt8(ascii: "\t") {
            message += "; YAML does not allow tabs for indentation, use spaces"
        } else if problem == "did not find expected key" || problem == "did not find expected '-' indicator",
                  let contextLine, contextLine < mark.line {
            // libyaml's words name a token; the usual cause is a line indented
            // less or more than the collection it should belong to.
            message += "; check this line's indentation against line \(contextLine)"
        } else if problem == "mapping values are not allowed in this context" {
            message += "; a value containing \": \" must be quoted"
        }
        if p.error == YAML_READER_ERROR {
            // The reader reports only a byte offset; count lines and characters to it.
            // For a bad or missing continuation byte it is the offset of that byte;
            // the character at fault starts at the leading byte before it.
            var start = min(Int(p.problem_offset), input.count)
            if problem.contains("trailing") {
                var back = start
                while back > 0, start - back < 4, input[back - 1] & 0xC0 == 0x80 { back -= 1 }
                if back > 0, input[back - 1] & 0xC0 == 0xC0 { start = back - 1 }
            }
            let prefix = input[..<start]
            let octet = p.problem_value >= 0 && p.problem_value <= 0xFF
                ? " 0x" + (p.problem_value < 0x10 ? "0" : "") + String(p.problem_value, radix: 16, uppercase: true) : ""
            let lineStart = (prefix.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
            let line = prefix.count { $0 == UInt8(ascii: "\n") } + 1
            let column = input[lineStart..<prefix.endIndex].count { $0 & 0xC0 != 0x80 } + 1
            return YAMLError(Mark(line: line, column: column),
                             "the plan is not valid UTF-8 or UTF-16 text (\(problem)\(octet) at byte offset \(p.problem_offset))")
        }
        return YAMLError(mark, message)
    }
}

/// Assembles events into nodes, enforcing kiln's stricter rules.
struct TreeBuilder {
    let limits: Limits
    private(set) var root: Node?
    private var stack: [Frame] = []
    private var anchors: [String: Built] = [:]
    private var nodeCount = 0
    private var documents = 0

    typealias Limits = YAMLParser.Limits

    init(limits: Limits) {
        self.limits = limits
    }

    /// A finished node with its expanded size and height, kept so an alias
    /// never walks the (possibly huge) subtree it repeats.
    private struct Built {
        var node: Node
        var weight: Int
        var height: Int
    }

    /// A collection whose children are being read.
    private struct Frame {
        var anchor: String?
        var tag: StandardTag?
        var mark: Mark
        var isMapping: Bool
        var items: [Node] = []
        var pairs: [Pair] = []
        var pendingKey: Node?
        var seen: [String: Mark] = [:]
        var weight = 1
        var height = 1
    }

    mutating func handle(_ event: Event) throws(YAMLError) {
        switch event {
        case .streamStart, .streamEnd, .documentEnd:
            return
        case .documentStart(let mark):
            documents += 1
            if documents > 1 {
                throw YAMLError(mark, "a plan holds exactly one YAML document; found a second one (remove the `---` line or split the file)")
            }
        case .alias(let anchor, let mark):
            guard let built = anchors[anchor] else {
                throw YAMLError(mark, "alias *\(anchor) refers to no anchor defined before it")
            }
            try check(weight: built.weight, height: built.height, at: mark)
            try complete(built)
        case .scalar(let scalar, let anchor, let tag, let mark):
            let standard = try standardTag(tag, at: mark)
            try check(weight: 1, height: 1, at: mark)
            try complete(Built(node: Node(.scalar(scalar), mark: mark, tag: standard), weight: 1, height: 1), anchor: anchor)
        case .sequenceStart(let anchor, let tag, let mark), .mappingStart(let anchor, let tag, let mark):
            let standard = try standardTag(tag, at: mark)
            try check(weight: 1, height: 1, at: mark)
            var isMapping = false
            if case .mappingStart = event { isMapping = true }
            stack.append(Frame(anchor: anchor, tag: standard, mark: mark, isMapping: isMapping))
        case .sequenceEnd, .mappingEnd:
            guard let frame = stack.popLast() else { return }
            let value: Node.Value = frame.isMapping ? .mapping(frame.pairs) : .sequence(frame.items)
            let node = Node(value, mark: frame.mark, tag: frame.tag)
            try complete(Built(node: node, weight: frame.weight, height: frame.height), anchor: frame.anchor)
        }
    }

    /// Bounds depth (the stack plus what is being inserted) and the total
    /// number of nodes after alias expansion.
    private mutating func check(weight: Int, height: Int, at mark: Mark) throws(YAMLError) {
        guard stack.count + height <= limits.maxDepth else {
            throw YAMLError(mark, "nesting deeper than \(limits.maxDepth) levels")
        }
        nodeCount += weight
        guard nodeCount <= limits.maxNodes else {
            throw YAMLError(mark, "the document expands to more than \(limits.maxNodes) nodes (through aliases?)")
        }
    }

    private func standardTag(_ tag: String?, at mark: Mark) throws(YAMLError) -> StandardTag? {
        guard let tag else { return nil }
        let prefix = "tag:yaml.org,2002:"
        if tag.hasPrefix(prefix), let standard = StandardTag(rawValue: String(tag.dropFirst(prefix.count))) {
            return standard
        }
        let shown = tag.hasPrefix(prefix) ? "!!" + tag.dropFirst(prefix.count) : tag
        throw YAMLError(mark, "custom tag \"\(shown)\" is not allowed in a plan")
    }

    private mutating func complete(_ built: Built, anchor: String? = nil) throws(YAMLError) {
        if let anchor { anchors[anchor] = built }
        guard var top = stack.popLast() else {
            root = built.node
            return
        }
        defer { stack.append(top) }
        top.weight += built.weight
        top.height = max(top.height, built.height + 1)
        let node = built.node
        guard top.isMapping else {
            top.items.append(node)
            return
        }
        if let key = top.pendingKey {
            top.pairs.append(Pair(key: key, value: node))
            top.pendingKey = nil
            return
        }
        guard let scalar = node.scalar else {
            throw YAMLError(node.mark, "mapping keys must be plain strings, not \(node.kindDescription)")
        }
        if scalar.style == .plain, scalar.text == "<<", node.tag == nil {
            throw YAMLError(node.mark, "merge keys (<<) are not supported in a plan; repeat the keys, or use an alias for a whole value")
        }
        if let first = top.seen[scalar.text] {
            throw YAMLError(node.mark, "duplicate key \"\(scalar.text)\" (first defined at \(first))")
        }
        top.seen[scalar.text] = node.mark
        top.pendingKey = node
    }
}
