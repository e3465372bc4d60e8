import KilnCore
internal import Foundation

/// A `{ dir: path }` source: every `*.deb` directly in a directory, indexed
/// by reading its control file and hashing it, as dpkg-scanpackages would.
struct LocalDirectory: Sendable {
    /// Absolute directory path.
    let path: String

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
}

extension String {
    var trimmingTrailingSlash: String {
        var copy = self
        while copy.hasSuffix("/") { copy.removeLast() }
        return copy
    }
}
