import ArgumentParser
import Debian
import Foundation
import Kiln
import KilnCore
import Plan

/// A command with a `--json` result: when it fails, stdout still gets one
/// document, `{"error": {"message", "file", "line", "column", "layer"}}`
/// (what is known), and `errors` with every error when there are several
/// (SPEC §4). The exit code is unchanged. `kiln validate --json` reports
/// its plans' errors in its result instead.
protocol JSONReporting {
    /// Whether `--json` was given.
    var json: Bool { get }
}

/// The failure document of ``JSONReporting`` commands, written once, by
/// ``KilnCommand/main()``, for every ``CommandFailure`` that says what
/// failed (a failure already reported, such as `diff` finding
/// differences, carries neither message nor error and gets none).
enum JSONFailure {
    /// One error as `--json` reports it.
    struct Item {
        var message: String
        var location: SourceLocation?
        var layer: String?
    }

    /// Whether `command` has a `--json` result and was asked for it.
    static func isRequested(by command: any ParsableCommand) -> Bool {
        (command as? any JSONReporting)?.json ?? false
    }

    /// Writes the document for `failure` on stdout, if it says what failed.
    static func write(_ failure: CommandFailure) {
        let found = failure.error.map { items(of: $0, plan: failure.plan) }
            ?? (failure.message.isEmpty ? [] : [Item(message: plainMessage(failure.message))])
        guard let first = found.first else { return }
        var document = failure.extra
        document["error"] = object(first)
        document["errors"] = .array(found.map(object))
        guard let bytes = try? CanonicalJSONEncoder.serialize(.object(document)) else { return }
        FileHandleWriter.stdout.write(String(decoding: bytes, as: UTF8.self) + "\n")
    }

    /// `{"message", "file", "line", "column", "layer"}`, what is known.
    static func object(_ item: Item) -> JSONValue {
        var object: [String: JSONValue] = ["message": .string(item.message)]
        if let location = item.location {
            object["file"] = .string(location.file)
            object["line"] = .integer(Int64(location.line))
            object["column"] = .integer(Int64(location.column))
        }
        if let layer = item.layer { object["layer"] = .string(layer) }
        return .object(object)
    }

    /// Each error `error` holds, with its place in the plan and its layer
    /// where known: located errors as they are, a layer's other errors at
    /// the layer's place in `plan`.
    static func items(of error: any Error, plan: ImageBuildPlan?) -> [Item] {
        switch error {
        case let errors as PlanErrors:
            return errors.errors.map { Item(message: $0.message, location: $0.location) }
        case let error as LayerPlanError:
            return [Item(message: "layer \"\(error.layer)\": \(error.message)", location: error.location, layer: error.layer)]
        case let errors as LayerPlanErrors:
            return errors.errors.flatMap { items(of: $0, plan: plan) }
        case let strict as StrictWarnings:
            return strict.warnings.map { Item(message: $0.message, location: $0.location, layer: $0.layer) }
        case let failure as LockFailure:
            return failure.located.flatMap { layer, location, error in
                LayerErrorPlaces.isLocated(error)
                    ? items(of: error, plan: plan)
                    : [Item(message: "layer \"\(layer)\": \(error)", location: location, layer: layer)]
            }
        case let build as ImageBuildError:
            switch build {
            case .layer(let name, let inner):
                if LayerErrorPlaces.isLocated(inner) { return items(of: inner, plan: plan) }
                let location = plan?.layers.first { $0.name == name }?.location
                return [located("\(build)") ?? Item(message: "\(build)", location: location, layer: name)]
            case .forPlatform(let platform, let inner):
                return items(of: inner, plan: plan).map { item in
                    var item = item
                    item.message += " (building \(platform))"
                    return item
                }
            case .strict(let strict):
                return items(of: strict, plan: plan)
            case .base(let inner):
                if let placed = inner as? BasePlanError { return [Item(message: "base image: \(placed.error)", location: placed.location)] }
                return [Item(message: "\(build)", location: plan?.valueLocations["base"])]
            default:
                return [Item(message: "\(build)")]
            }
        default:
            return [located("\(error)") ?? Item(message: plainMessage("\(error)"))]
        }
    }

    /// `file:line:col: error: layer "x": …` (a files layer's errors) split
    /// into its parts, or nil for a message without a place.
    private static func located(_ text: String) -> Item? {
        guard !text.contains("\n"), let range = text.range(of: ": error: ") else { return nil }
        let place = text[..<range.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
        guard place.count >= 3, let line = Int(place[place.count - 2]), let column = Int(place[place.count - 1]) else { return nil }
        let message = String(text[range.upperBound...])
        var layer: String?
        if message.hasPrefix("layer \""), let end = message.dropFirst(7).firstIndex(of: "\"") {
            layer = String(message[message.index(message.startIndex, offsetBy: 7)..<end])
        }
        let file = place.dropLast(2).joined(separator: ":")
        return Item(message: message, location: SourceLocation(file: file, line: line, column: column), layer: layer)
    }

    /// A message without kiln's `kiln: error: ` or `kiln: ` in front.
    private static func plainMessage(_ text: String) -> String {
        for prefix in ["kiln: error: ", "kiln: "] where text.hasPrefix(prefix) { return String(text.dropFirst(prefix.count)) }
        return text
    }
}

extension BuildCommand: JSONReporting {}
extension LockCommand: JSONReporting {}
extension InspectCommand: JSONReporting {}
extension PushCommand: JSONReporting {}
extension PullCommand: JSONReporting {}
extension CacheCommand.Info: JSONReporting {}
extension CacheCommand.Prune: JSONReporting {}
extension DiffCommand: JSONReporting {
    var json: Bool { format == .json }
}
