import KilnCore

/// Something in a plan that is valid but almost certainly not what its
/// author meant (SPEC §4): printed as `plan.yaml:12:5: warning: …`, listed
/// in `kiln build --json` under `warnings`, and an error with `--strict`.
public struct PlanWarning: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Where the value at fault starts in the plan.
    public var location: SourceLocation
    /// What looks wrong and what to write instead; starts with the layer
    /// (`layer "app": …`) when it is about one.
    public var message: String
    /// The layer it is about, if any.
    public var layer: String?

    public init(_ location: SourceLocation, _ message: String, layer: String? = nil) {
        self.location = location
        self.message = message
        self.layer = layer
    }

    public var description: String { "\(location): warning: \(message)" }

    /// `text` quoted for a one-line message, as plan errors quote values.
    public static func quote(_ text: some StringProtocol) -> String { quoted(text) }

    enum CodingKeys: String, CodingKey { case message, file, line, column, layer }

    /// `{"message", "file", "line", "column", "layer"}`, the shape of
    /// `--json` errors.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(message, forKey: .message)
        try container.encode(location.file, forKey: .file)
        try container.encode(location.line, forKey: .line)
        try container.encode(location.column, forKey: .column)
        try container.encodeIfPresent(layer, forKey: .layer)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        location = SourceLocation(
            file: try container.decode(String.self, forKey: .file), line: try container.decode(Int.self, forKey: .line),
            column: try container.decode(Int.self, forKey: .column))
        message = try container.decode(String.self, forKey: .message)
        layer = try container.decodeIfPresent(String.self, forKey: .layer)
    }
}

/// `--strict`: the build or validation found warnings, which it treats as
/// errors; each is printed as `file:line:col: error: …`.
public struct StrictWarnings: Error, Hashable, Sendable, CustomStringConvertible {
    public var warnings: [PlanWarning]

    public init(_ warnings: [PlanWarning]) { self.warnings = warnings }

    public var description: String {
        warnings.map { "\($0.location): error: \($0.message) (--strict makes warnings errors)" }.joined(separator: "\n")
    }
}

extension ImageBuildPlan {
    /// The warnings the plan alone gives, without building anything (what
    /// `kiln validate` can know): a `$VAR` in a list-form build command.
    public var warnings: [PlanWarning] {
        layers.flatMap { layer -> [PlanWarning] in
            guard case .build(let build) = layer.strategy, case .argv(let argv) = build.command else { return [] }
            return ArgvExpansion.unexpanded(argv).map { index, variable in
                let key = ValueLocations.command(ofLayer: layer.name)
                let location = valueLocations[key, item: index] ?? layer.location
                return PlanWarning(location, "layer \(quoted(layer.name)): \(quoted(argv[index])) holds \(variable), which is not expanded: "
                    + "no shell runs a list-form command; write it as a string, which /bin/sh -c runs "
                    + "(command: \(ArgvExpansion.shellForm(argv))), or as [\"sh\", \"-c\", \"…\"]", layer: layer.name)
            }
        }
    }
}

/// `$NAME` and `${NAME}` in argv items that no shell will expand.
enum ArgvExpansion {
    static let shells: Set<String> = ["sh", "bash", "dash", "ash", "ksh", "mksh", "zsh", "busybox"]

    /// The items holding a variable reference, with the first reference,
    /// leaving out the script of a `sh -c SCRIPT` invocation (a shell
    /// expands that one).
    static func unexpanded(_ argv: [String]) -> [(Int, String)] {
        var script: Int?
        if let shell = argv.firstIndex(where: { shells.contains(String($0.split(separator: "/").last ?? "")) }) {
            var index = shell + 1
            var sawC = false
            while index < argv.count, argv[index].hasPrefix("-"), argv[index] != "--" {
                if !argv[index].hasPrefix("--"), argv[index].contains("c") { sawC = true }
                index += 1
            }
            if argv.indices.contains(index), argv[index] == "--" { index += 1 }
            if sawC, argv.indices.contains(index) { script = index }
        }
        return argv.enumerated().compactMap { index, item in
            guard index != script, let variable = reference(in: item) else { return nil }
            return (index, variable)
        }
    }

    /// The first `$NAME` or `${NAME…}` in `text`, as written.
    static func reference(in text: String) -> String? {
        let bytes = Array(text.utf8)
        func isNameStart(_ byte: UInt8) -> Bool { byte == 0x5F || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        func isName(_ byte: UInt8) -> Bool { isNameStart(byte) || (0x30...0x39).contains(byte) }
        var index = 0
        while index + 1 < bytes.count {
            defer { index += 1 }
            guard bytes[index] == 0x24 else { continue }
            let next = bytes[index + 1]
            if next == 0x7B, index + 2 < bytes.count, isNameStart(bytes[index + 2]), let close = bytes[(index + 2)...].firstIndex(of: 0x7D) {
                return String(decoding: bytes[index...close], as: UTF8.self)
            }
            if isNameStart(next) {
                var end = index + 1
                while end < bytes.count, isName(bytes[end]) { end += 1 }
                return String(decoding: bytes[index..<end], as: UTF8.self)
            }
        }
        return nil
    }

    /// The argv as one `/bin/sh -c` string that expands what the list
    /// meant: plain words as they are, others in double quotes (which
    /// expand `$VAR` and keep spaces).
    static func shellForm(_ argv: [String]) -> String {
        argv.map { item in
            let plain = !item.isEmpty && item.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || "-_./=:,+@%".utf8.contains(byte)
            }
            if plain { return item }
            var escaped = ""
            for character in item {
                if "\"\\`".contains(character) { escaped.append("\\") }
                escaped.append(character)
            }
            return "\"" + escaped + "\""
        }.joined(separator: " ")
    }
}
