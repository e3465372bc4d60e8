import KilnCore
import Foundation

/// The missing parent directories of output paths, created before a build
/// and removed again (if still empty) when it fails.
struct OutputParents {
    /// Created directories, deepest last.
    private(set) var created: [String] = []

    static func create(for outputs: [String]) throws -> OutputParents {
        var result = OutputParents()
        for output in outputs {
            let absolute = output.hasPrefix("/") ? output : FileManager.default.currentDirectoryPath + "/" + output
            var missing: [String] = []
            var parent = (absolute as NSString).deletingLastPathComponent
            while !parent.isEmpty, parent != "/", !FileManager.default.fileExists(atPath: parent) {
                missing.append(parent)
                parent = (parent as NSString).deletingLastPathComponent
            }
            for directory in missing.reversed() {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
                } catch {
                    result.removeIfEmpty()
                    throw ImageBuildError.output(OutputDirectoryError(path: directory, underlying: "\(error)"))
                }
                result.created.append(directory)
            }
        }
        return result
    }

    /// Removes the directories this created, deepest first, where empty.
    func removeIfEmpty() {
        for directory in created.reversed() { rmdir(directory) }
    }
}

/// An output's parent directory could not be created.
struct OutputDirectoryError: Error, CustomStringConvertible {
    var path: String
    var underlying: String
    var description: String { "cannot create the directory \(path): \(underlying)" }
}
