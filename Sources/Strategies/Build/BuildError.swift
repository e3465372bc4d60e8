import Archive
public import KilnCore
public import KilnProcess

/// Why a `build` layer could not be produced. Every message starts with the
/// layer's name.
public struct BuildError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The layer being built.
    public var layer: String
    /// What went wrong.
    public var reason: Reason

    /// An error of the layer named `layer`.
    public init(layer: String, reason: Reason) {
        self.layer = layer
        self.reason = reason
    }

    /// The failures a build layer reports.
    public enum Reason: Hashable, Sendable {
        /// `command:` is an empty list.
        case emptyCommand
        /// `argv[0]` names no executable file in the command's `PATH`.
        case commandNotFound(name: String, searchPath: String)
        /// `sandbox: isolated` without `bwrap` on kiln's `PATH`.
        case sandboxToolMissing(searchPath: String)
        /// The layer's `env:` sets a variable kiln owns.
        case reservedVariable(String)
        /// `workdir` is not a relative, normalized path.
        case invalidWorkdir(String)
        /// `workdir` runs through a symlink (which could lead out of the scratch).
        case workdirThroughSymlink(workdir: String, symlink: String)
        /// `workdir` names something other than a directory.
        case workdirNotDirectory(String)
        /// The plan directory is not inside the context.
        case planDirectoryOutsideContext(directory: String, context: String)
        /// An input holds a device, socket or fifo; `kind` says which ("a FIFO").
        case unsupportedInput(path: String, kind: String)
        /// An input was replaced while it was copied (a symlink where a
        /// file or directory was listed, or the other way round).
        case inputReplaced(path: String)
        /// An input directory could not be listed or holds a name that is
        /// not UTF-8.
        case input(DirectoryListing.Failure)
        /// A file system operation on a host path failed.
        case fileSystem(operation: String, path: String, errno: Int32)
        /// The command could not be started or watched.
        case cannotRun(ChildProcessError)
        /// The command ended unsuccessfully.
        case commandFailed(termination: ChildProcess.Termination, lastLines: [String], keptScratch: String?)
        /// The command left a device, socket or fifo in `$KILN_OUT`; `kind`
        /// says which ("a FIFO") and `path` is relative to `$KILN_OUT`.
        case unsupportedOutput(path: String, kind: String)
        /// `$KILN_OUT` could not be read into the layer.
        case unreadableOutput(HostTreeError)
    }

    /// `layer "NAME": ` and what went wrong; several lines for a failed
    /// command (its last lines of output).
    public var description: String {
        "layer \"\(layer)\": " + reasonDescription
    }

    private var reasonDescription: String {
        switch reason {
        case .emptyCommand:
            return "command is an empty list (give a program and its arguments, or a string for /bin/sh -c)"
        case .commandNotFound(let name, let searchPath):
            if name.contains("/") {
                return "command \"\(name)\" is not an executable file"
            }
            return "command \"\(name)\" not found in PATH \"\(searchPath)\""
        case .sandboxToolMissing(let searchPath):
            return "sandbox: isolated needs bwrap, which is not in PATH \"\(searchPath)\" (install the bubblewrap package)"
        case .reservedVariable(let name):
            return "env: \(name) is set by kiln and cannot be overridden"
        case .invalidWorkdir(let workdir):
            return "workdir \"\(workdir)\" must be a relative path without \".\" or \"..\" components"
        case .workdirThroughSymlink(let workdir, let symlink):
            return "workdir \"\(workdir)\" passes through the symlink \"\(symlink)\" of the inputs"
        case .workdirNotDirectory(let workdir):
            return "workdir \"\(workdir)\" is an input that is not a directory"
        case .planDirectoryOutsideContext(let directory, let context):
            return "the plan directory \(directory) is not inside the context \(context)"
        case .input(let failure):
            return "input \(failure)"
        case .inputReplaced(let path):
            return "input \(path) was replaced while it was copied into the build's scratch (nothing outside it was read)"
        case .unsupportedInput(let path, let kind):
            return "input \(path) is \(kind); inputs may hold only files, directories and symlinks"
        case .fileSystem(let operation, let path, let code):
            return "cannot \(operation) \(path): \(ChildProcessError.message(code))"
        case .cannotRun(let error):
            return "\(error)"
        case .commandFailed(let termination, let lastLines, let keptScratch):
            var text = "command \(termination)"
            if !lastLines.isEmpty {
                text += "\nlast lines of output:"
                for line in lastLines { text += "\n  " + line }
            }
            if let keptScratch { text += "\nscratch directory kept at \(keptScratch)" }
            return text
        case .unsupportedOutput(let path, let kind):
            return "$KILN_OUT/\(path) is \(kind); a layer may hold only files, directories, symlinks and hardlinks"
        case .unreadableOutput(let error):
            return "output: \(error)"
        }
    }
}
