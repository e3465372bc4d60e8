import KilnCore
import YAML

/// Collects every error of one plan, so `kiln validate` reports them all
/// at once instead of one per run.
struct Diagnostics {
    /// The plan file as the user named it.
    let file: String
    private(set) var errors: [PlanError] = []

    init(file: String) {
        self.file = file
    }

    func location(_ mark: Mark) -> SourceLocation {
        SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    /// Records an error. Control characters are escaped whatever the
    /// message quotes, so every error stays one line.
    mutating func error(_ mark: Mark, _ message: String) {
        errors.append(PlanError(location(mark), message.singleLine))
    }

    /// Errors sorted by position, duplicates (the same place and words) removed.
    var sorted: [PlanError] {
        var seen = Set<PlanError>()
        return errors
            .filter { seen.insert($0).inserted }
            .enumerated()
            .sorted { ($0.element.location.line, $0.element.location.column, $0.offset) < ($1.element.location.line, $1.element.location.column, $1.offset) }
            .map(\.element)
    }
}
