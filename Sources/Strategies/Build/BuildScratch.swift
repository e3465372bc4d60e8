import Foundation
import Archive
import KilnCore
import Plan

/// The private directories one run of a build command uses.
///
/// ```
/// <scratchRoot>/build-<layer>-XXXXXX/
///   context/   the inputs, at their paths relative to the plan's context
///   out/       $KILN_OUT, empty at the start
///   home/      $HOME
///   tmp/       $TMPDIR
/// ```
///
/// Inputs are copied, never linked, so the command cannot reach the
/// checkout through them. What the command sees is independent of the
/// checkout's permissions and timestamps: files are 0755 when the owner
/// may execute them and 0644 otherwise, directories 0755 (git records only
/// the execute bit, so this is what every checkout agrees on), symlinks are
/// copied as symlinks and never followed, and every copied entry's mtime is
/// `SOURCE_DATE_EPOCH` (tools that embed timestamps stay reproducible).
/// Hardlinks between inputs become separate files.
struct BuildScratch: Sendable {
    /// The scratch directory itself (symlink-free).
    let root: String
    /// The mirror of the plan's context.
    let context: String
    /// `$KILN_OUT`.
    let output: String
    /// `$HOME`.
    let home: String
    /// `$TMPDIR`.
    let temporary: String
    /// Where the command starts: the plan directory's place in `context`,
    /// then `workdir`.
    let workingDirectory: String

    /// Where `sandbox: isolated` mounts the scratch inside bubblewrap: one
    /// fixed path, so a command that records its directories (debug info,
    /// `__FILE__`, a Go binary without `-trimpath`) writes the same bytes
    /// on every machine. `/tmp` is a fresh tmpfs in the sandbox, so the
    /// mount point can always be made.
    static let sandboxRoot = "/tmp/kiln"

    /// The same directories seen from `newRoot` (the sandbox's view).
    func relocated(to newRoot: String) -> BuildScratch {
        func move(_ path: String) -> String { newRoot + path.dropFirst(root.count) }
        return BuildScratch(
            root: newRoot, context: move(context), output: move(output), home: move(home),
            temporary: move(temporary), workingDirectory: move(workingDirectory))
    }

    /// `path` seen from `newRoot` when it lies in the scratch, else as it is.
    func relocating(_ path: String, to newRoot: String) -> String {
        path == root || path.hasPrefix(root + "/") ? newRoot + path.dropFirst(root.count) : path
    }

    /// Creates the scratch directory under `context.scratchRoot` and copies
    /// the layer's inputs into it.
    /// - Throws: ``BuildError`` naming the input, workdir or operation that failed.
    static func create(for layer: BuildLayer, context: StrategyContext) throws(BuildError) -> BuildScratch {
        let name = context.layer.name
        let fail = { (reason: BuildError.Reason) in BuildError(layer: name, reason: reason) }
        let planPlace = try placeOfPlanDirectory(plan: context.plan, layer: name)
        if let workdir = layer.workdir, !LayerTree.isNormalized(workdir) || workdir.hasPrefix("/") {
            throw fail(.invalidWorkdir(workdir))
        }

        let root = try makeUniqueDirectory(in: context.scratchRoot, prefix: "build-\(name)-", layer: name)
        let scratch = BuildScratch(
            root: root, context: root + "/context", output: root + "/out", home: root + "/home",
            temporary: root + "/tmp",
            workingDirectory: ([root + "/context", planPlace] + [layer.workdir ?? ""]).filter { !$0.isEmpty }.joined(separator: "/")
        )
        do throws(BuildError) {
            for directory in [scratch.context, scratch.output, scratch.home, scratch.temporary] {
                try makeDirectory(directory, layer: name)
            }
            let copier = InputCopier(layer: name, mtime: context.plan.created.secondsSinceEpoch)
            for input in coveringInputs(layer.inputs) {
                let destination = input.relativePath.isEmpty ? scratch.context : scratch.context + "/" + input.relativePath
                try makeParents(of: input.relativePath, under: scratch.context, layer: name)
                try copier.copy(input.hostPath, to: destination)
            }
            try makeWorkingDirectory(
                scratch.workingDirectory, relativeTo: scratch.context,
                workdir: layer.workdir, layer: name
            )
        } catch {
            if !context.keepScratch { scratch.remove() }
            throw error
        }
        return scratch
    }

    /// Removes the whole scratch directory, making read-only directories
    /// the command left writable first. Failures are ignored: this runs on
    /// the way out of an error or after the layer was written.
    func remove() {
        TreeRemoval.remove(root)
    }

    /// Removes everything but `$KILN_OUT`, whose files the layer still reads.
    func removeAllButOutput() {
        for directory in [context, home, temporary] { TreeRemoval.remove(directory) }
    }

    /// The plan directory relative to the context, "" when they are the same.
    private static func placeOfPlanDirectory(plan: ImageBuildPlan, layer: String) throws(BuildError) -> String {
        if plan.directory == plan.context { return "" }
        let prefix = plan.context.hasSuffix("/") ? plan.context : plan.context + "/"
        guard plan.directory.hasPrefix(prefix) else {
            throw BuildError(layer: layer, reason: .planDirectoryOutsideContext(directory: plan.directory, context: plan.context))
        }
        return String(plan.directory.dropFirst(prefix.count))
    }

    /// Inputs with those inside another input dropped (the outer copy
    /// already holds them), outermost first.
    private static func coveringInputs(_ inputs: [BuildInput]) -> [BuildInput] {
        let ordered = inputs.sorted {
            let depths = ($0.relativePath.split(separator: "/").count, $1.relativePath.split(separator: "/").count)
            return depths.0 != depths.1 ? depths.0 < depths.1 : $0.relativePath.utf8.lexicographicallyPrecedes($1.relativePath.utf8)
        }
        var kept: [BuildInput] = []
        for input in ordered {
            let covered = kept.contains { outer in
                outer.relativePath.isEmpty || outer.relativePath == input.relativePath
                    || input.relativePath.hasPrefix(outer.relativePath + "/")
            }
            if !covered { kept.append(input) }
        }
        return kept
    }

    private static func makeUniqueDirectory(in parent: String, prefix: String, layer: String) throws(BuildError) -> String {
        var template = Array((parent + "/" + prefix + "XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BuildError(layer: layer, reason: .fileSystem(operation: "create a scratch directory in", path: parent, errno: errno))
        }
        let path = String(cString: made)
        // bwrap binds by path and the working directory is compared by
        // path, so the scratch must not sit behind a symlink.
        guard let resolved = realpath(path, nil) else {
            throw BuildError(layer: layer, reason: .fileSystem(operation: "resolve", path: path, errno: errno))
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func makeDirectory(_ path: String, layer: String) throws(BuildError) {
        guard mkdir(path, 0o755) == 0 else {
            throw BuildError(layer: layer, reason: .fileSystem(operation: "create the directory", path: path, errno: errno))
        }
        // Explicit, so kiln's umask never shows through.
        chmod(path, 0o755)
    }

    private static func makeParents(of relative: String, under base: String, layer: String) throws(BuildError) {
        var path = base
        for component in relative.split(separator: "/").dropLast() {
            path += "/" + component
            var info = stat()
            if lstat(path, &info) == 0 { continue }
            try makeDirectory(path, layer: layer)
        }
    }

    /// Creates the working directory if the inputs did not, refusing to
    /// follow a symlink out of the scratch.
    private static func makeWorkingDirectory(_ path: String, relativeTo base: String, workdir: String?, layer: String) throws(BuildError) {
        guard path.hasPrefix(base + "/") else { return }
        var current = base
        let relative = path.dropFirst(base.count + 1)
        for component in relative.split(separator: "/") {
            current += "/" + component
            var info = stat()
            if lstat(current, &info) != 0 {
                try makeDirectory(current, layer: layer)
                continue
            }
            let shown = String(current.dropFirst(base.count + 1))
            switch info.st_mode & S_IFMT {
            case S_IFDIR: continue
            case S_IFLNK: throw BuildError(layer: layer, reason: .workdirThroughSymlink(workdir: workdir ?? shown, symlink: shown))
            default: throw BuildError(layer: layer, reason: .workdirNotDirectory(workdir ?? shown))
            }
        }
    }
}

/// Copies host inputs with the normalized metadata ``BuildScratch`` describes.
private struct InputCopier {
    let layer: String
    let mtime: Int64
    private let buffer = ReusableBuffer(byteCount: 256 * 1024)

    init(layer: String, mtime: Int64) {
        self.layer = layer
        self.mtime = mtime
    }

    /// Copies `source` (found by path) and, for a directory, everything
    /// below it, each opened relative to its parent's descriptor with
    /// `O_NOFOLLOW`: a directory swapped for a symlink during the copy is
    /// never entered, so nothing outside the input is read.
    func copy(_ source: String, to destination: String) throws(BuildError) {
        try copy(name: source, in: AT_FDCWD, shown: source, to: destination)
    }

    private func copy(name: String, in directory: Int32, shown source: String, to destination: String) throws(BuildError) {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("read", source) }
        switch info.st_mode & S_IFMT {
        case S_IFLNK:
            var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = target.withUnsafeMutableBytes { readlinkat(directory, name, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
            guard length >= 0, length < target.count else {
                throw errno == EINVAL ? BuildError(layer: layer, reason: .inputReplaced(path: source)) : failure("read the symlink", source)
            }
            guard symlink(String(decoding: target[..<length], as: UTF8.self), destination) == 0 else {
                throw failure("create the symlink", destination)
            }
            try stamp(destination, followSymlink: false)
        case S_IFREG:
            // O_NONBLOCK: an input swapped for a FIFO since it was listed
            // must not hang the build; fstat then refuses anything but a
            // regular file.
            let input = openat(directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard input >= 0 else {
                throw errno == ELOOP ? BuildError(layer: layer, reason: .inputReplaced(path: source)) : failure("read", source)
            }
            defer { close(input) }
            try copyFile(input, shown: source, to: destination, executable: info.st_mode & S_IXUSR != 0)
        case S_IFDIR:
            let opened = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard opened >= 0 else {
                throw errno == ELOOP || errno == ENOTDIR ? BuildError(layer: layer, reason: .inputReplaced(path: source)) : failure("read", source)
            }
            defer { close(opened) }
            var existing = stat()
            if lstat(destination, &existing) != 0 {
                guard mkdir(destination, 0o755) == 0 else { throw failure("create the directory", destination) }
            }
            guard chmod(destination, 0o755) == 0 else { throw failure("set the mode of", destination) }
            let names: [String]
            do {
                names = try DirectoryListing.sortedNames(descriptor: opened, shown: source)
            } catch {
                throw BuildError(layer: layer, reason: .input(error))
            }
            for child in names {
                try copy(name: child, in: opened, shown: source + "/" + child, to: destination + "/" + child)
            }
            try stamp(destination, followSymlink: true)
        default:
            throw BuildError(layer: layer, reason: .unsupportedInput(path: source, kind: InputCopier.kindName(info.st_mode)))
        }
    }

    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "of an unknown file type"
        }
    }

    private func copyFile(_ input: Int32, shown source: String, to destination: String, executable: Bool) throws(BuildError) {
        var status = stat()
        guard fstat(input, &status) == 0 else { throw failure("read", source) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw BuildError(layer: layer, reason: .unsupportedInput(path: source, kind: InputCopier.kindName(status.st_mode)))
        }
        let mode: mode_t = executable ? 0o755 : 0o644
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard output >= 0 else { throw failure("create", destination) }
        defer { close(output) }
        while true {
            let count = read(input, buffer.pointer, buffer.byteCount)
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", source)
            }
            if count == 0 { break }
            var written = 0
            while written < count {
                let result = write(output, buffer.pointer + written, count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw failure("write", destination)
                }
                written += result
            }
        }
        guard fchmod(output, mode) == 0 else { throw failure("set the mode of", destination) }
        var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        guard futimens(output, &times) == 0 else { throw failure("set the time of", destination) }
    }

    private func stamp(_ path: String, followSymlink: Bool) throws(BuildError) {
        var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, followSymlink ? 0 : AT_SYMLINK_NOFOLLOW) == 0 else {
            throw failure("set the time of", path)
        }
    }

    private func failure(_ operation: String, _ path: String) -> BuildError {
        BuildError(layer: layer, reason: .fileSystem(operation: operation, path: path, errno: errno))
    }
}

/// A fixed-size byte buffer at a stable address, freed with its owner.
private final class ReusableBuffer {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 16)
    }

    deinit {
        pointer.deallocate()
    }
}
