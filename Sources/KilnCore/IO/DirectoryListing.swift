import Glibc

/// The names in a host directory, read with `readdir` and sorted by their
/// bytes; every host walk (files layers, build inputs, input digests) lists
/// directories through it, so all of them treat odd names alike.
public enum DirectoryListing {
    /// Why a directory could not be listed.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The directory is gone (or a component is not a directory).
        case vanished(String)
        /// `opendir`/`readdir` failed with `errno`.
        case unreadable(String, errno: Int32)
        /// A name that is not valid UTF-8 (shown with U+FFFD for the bad
        /// bytes): image paths are UTF-8, and such a name cannot be named
        /// in a plan, a layer or a message faithfully.
        case notUTF8(String)

        public var description: String {
            switch self {
            case .vanished(let path): "\(path) no longer exists"
            case .unreadable(let path, let code): "cannot list \(path): \(String(cString: strerror(code)))"
            case .notUTF8(let path): "\(path): file names and symlink targets must be valid UTF-8"
            }
        }
    }

    /// The names in `directory`, without `.` and `..`, in byte order.
    public static func sortedNames(in directory: String) throws(Failure) -> [String] {
        guard let stream = opendir(directory) else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR ? .vanished(directory) : .unreadable(directory, errno: code)
        }
        return try sortedNames(of: stream, shown: directory)
    }

    /// The names in the open directory `descriptor` (which stays open and
    /// is not moved), `shown` as `directory` in errors: for walks that
    /// open each directory relative to its parent, so a directory swapped
    /// for a symlink mid-walk is never entered.
    public static func sortedNames(descriptor: Int32, shown directory: String) throws(Failure) -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let code = errno
            throw .unreadable(directory, errno: code)
        }
        return try sortedNames(of: stream, shown: directory)
    }

    /// Reads and closes `stream`.
    private static func sortedNames(of stream: OpaquePointer, shown directory: String) throws(Failure) -> [String] {
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw .unreadable(directory, errno: errno) }
                break
            }
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw -> Result<String?, Failure> in
                let length = raw.firstIndex(of: 0) ?? raw.count
                let bytes = UnsafeRawBufferPointer(rebasing: raw[..<length])
                if bytes.elementsEqual([0x2E]) || bytes.elementsEqual([0x2E, 0x2E]) { return .success(nil) }
                guard let name = strictUTF8(bytes) else {
                    return .failure(.notUTF8(directory + "/" + String(decoding: bytes, as: UTF8.self)))
                }
                return .success(name)
            }
            if let name = try name.get() { names.append(name) }
        }
        return names.sorted { $0.utf8Precedes($1) }
    }

    /// `bytes` as a String when they are valid UTF-8, else nil (Swift's
    /// decoding would replace bad bytes and name another file).
    public static func strictUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
        let string = String(decoding: bytes, as: UTF8.self)
        return string.utf8.elementsEqual(bytes) ? string : nil
    }
}
