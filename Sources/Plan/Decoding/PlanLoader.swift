import Glibc
public import KilnCore
import YAML

/// Reads plan files into validated, normalized ``ImageBuildPlan``s.
public struct PlanLoader: Sendable {
    /// The environment defaults come from (`SOURCE_DATE_EPOCH`).
    public var environment: [String: String]
    /// The platform a plan without `platform:` targets.
    public var hostPlatform: Platform
    /// `--context DIR`: a directory wider than the plan's own that host paths
    /// may reach into, or nil for the plan's directory.
    public var context: String?

    /// Plans larger than this are refused before parsing.
    public static let maxPlanSize = 16 << 20

    /// Creates a loader.
    /// - Parameters:
    ///   - environment: usually the process environment; only
    ///     `SOURCE_DATE_EPOCH` is read, so tests pass a literal map.
    ///   - hostPlatform: the default target platform.
    ///   - context: `--context DIR` as given, or nil to confine host paths to
    ///     each plan's own directory.
    public init(environment: [String: String], hostPlatform: Platform = .host, context: String? = nil) {
        self.environment = environment
        self.hostPlatform = hostPlatform
        self.context = context
    }

    /// Reads, parses, validates and normalizes the plan at `file`.
    /// - Parameter file: the path as the user gave it; messages name it so.
    /// - Throws: ``PlanErrors`` with every problem found, each at a
    ///   `file:line:column`.
    public func load(file: String) throws(PlanErrors) -> ImageBuildPlan {
        let bytes: [UInt8]
        do {
            bytes = try PlanLoader.readFile(file)
        } catch {
            throw PlanErrors([PlanError(SourceLocation(file: file, line: 1, column: 1), "cannot read the plan: \(error)")])
        }
        let absolute = file.hasPrefix("/") ? file : PlanLoader.currentDirectory() + "/" + file
        let directory = HostPathResolver.normalize(absolute + "/..")
        return try decode(bytes, file: file, directory: HostPathResolver.realPath(directory) ?? directory)
    }

    /// Parses and validates plan text as if it were the file `file` in
    /// `directory` (an absolute, symlink-free path).
    public func decode(_ bytes: [UInt8], file: String, directory: String) throws(PlanErrors) -> ImageBuildPlan {
        var diagnostics = Diagnostics(file: file)
        let start = Mark(line: 1, column: 1)
        guard bytes.count <= PlanLoader.maxPlanSize else {
            diagnostics.error(start, "the plan is larger than \(PlanLoader.maxPlanSize >> 20) MiB")
            throw PlanErrors(diagnostics.errors)
        }
        let root: Node?
        do {
            root = try YAMLParser.parse(bytes)
        } catch {
            diagnostics.error(error.mark, error.message)
            throw PlanErrors(diagnostics.errors)
        }
        guard let root else {
            diagnostics.error(start, "the plan is empty (it needs at least \"kiln: 1\" and \"name:\")")
            throw PlanErrors(diagnostics.errors)
        }
        var decoder = PlanDecoder(diagnostics: diagnostics, loader: self, file: file, directory: directory)
        let plan = decoder.plan(root)
        let errors = decoder.diagnostics.sorted
        guard errors.isEmpty, let plan else { throw PlanErrors(errors) }
        return plan
    }

    static func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError(errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError(errno: errno) }
        guard (st.st_mode & S_IFMT) != S_IFDIR else { throw SystemError(errno: EISDIR) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: errno)
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<n])
            if bytes.count > maxPlanSize { return bytes }
        }
    }

    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "/" }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}

/// An operating-system error, worded as `strerror` words it.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C `errno` value; ``description`` words it with `strerror`.
    public var errno: Int32
    /// Wraps an `errno` value, read right after the failing call (any later
    /// libc call may overwrite it).
    public init(errno: Int32) { self.errno = errno }
    public var description: String {
        String(cString: strerror(errno)).lowercased()
    }
}
