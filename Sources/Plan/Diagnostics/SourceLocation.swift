import KilnCore

/// A position in a plan file, 1-based, as editors count.
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The plan file as the user named it (relative paths stay relative).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    /// Creates a location from 1-based coordinates; YAML ``Mark``s already are.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }
}
