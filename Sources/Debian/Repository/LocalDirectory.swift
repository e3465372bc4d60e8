import KilnCore
internal import Foundation
import Glibc
import Plan

/// A `{ dir: path }` source: every `*.deb` directly in a directory, indexed
/// by reading its control file and hashing it, as dpkg-scanpackages would.
struct LocalDirectory: Sendable {
    /// Absolute directory path.
    let path: String
    /// The plan's context: a `.deb` that is a symlink must resolve inside it,
    /// like every other host input (SPEC §1).
    let context: String

    /// One record per `.deb`, in file-name order.
    /// - Throws: ``RepositoryError`` when the directory cannot be listed,
    ///   ``DebArchiveError`` or ``IndexError`` for a package that cannot be read.
    func records() throws -> [PackageRecord] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw RepositoryError.io(path: path, message: "cannot list the directory")
        }
        var records: [PackageRecord] = []
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) where name.hasSuffix(".deb") {
            let file = (path as NSString).appendingPathComponent(name)
            try checkInsideContext(file)
            let control = try DebFile(path: file).readControl()
            let stanzas: [Deb822Stanza]
            do {
                stanzas = try Deb822Parser.parse(String(decoding: control.control, as: UTF8.self), source: file + ": control")
            } catch {
                throw IndexError(origin: file, line: 0, message: "unreadable control file: \(error)")
            }
            guard let stanza = stanzas.first else { throw IndexError(origin: file, line: 0, message: "empty control file") }
            let (size, sha256) = try Fetcher.hashFile(file)
            // The control file has no Filename, Size or SHA256: add them as
            // dpkg-scanpackages does, then read it like an index entry.
            let fields = stanza.fields + [("Filename", name), ("Size", String(size)), ("SHA256", sha256)]
            records.append(try PackageRecord(
                stanza: Deb822Stanza(fields: fields, line: 0),
                baseURI: URL(fileURLWithPath: path).absoluteString.trimmingTrailingSlash, origin: path))
        }
        return records
    }

    /// A `.deb` that is a symlink (an intermediate directory cannot be: the
    /// directory itself was resolved inside the context) must point inside
    /// the context, or it would bring a file from outside into the image.
    private func checkInsideContext(_ file: String) throws {
        var status = stat()
        guard lstat(file, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return }
        let resolver = HostPathResolver(directory: path, context: context)
        guard let real = HostPathResolver.realPath(file) else {
            throw RepositoryError.io(path: file, message: "is a symlink to nothing (dangling)")
        }
        guard resolver.isInside(real) else {
            throw RepositoryError.io(path: file, message: "resolves through a symlink to \(real), outside the context \(context) (use --context DIR to widen it)")
        }
    }
}

extension String {
    var trimmingTrailingSlash: String {
        var copy = self
        while copy.hasSuffix("/") { copy.removeLast() }
        return copy
    }
}
