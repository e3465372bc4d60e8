import KilnCore

/// The parts of a `Release` file kiln uses: which indexes exist, their
/// SHA-256 and size, and how to fetch them.
struct ReleaseFile: Sendable {
    /// One file listed under `SHA256:`.
    struct Entry: Hashable, Sendable {
        var sha256: String
        var size: Int64
    }

    /// `Architectures:` (may include `all`).
    var architectures: [String]
    /// `Components:`.
    var components: [String]
    /// `Acquire-By-Hash: yes`: fetch indexes from `by-hash/SHA256/<hash>`.
    var acquireByHash: Bool
    /// `No-Support-for-Architecture-all: Packages`: `all` packages are listed
    /// in every architecture's index, and `binary-all` must not be read.
    var architectureAllInEveryIndex: Bool
    /// Path relative to the Release directory → hash and size.
    var files: [String: Entry]
    /// Where the Release text came from (`…/InRelease` or `…/Release`).
    var url: String

    /// Parses the signed text of `InRelease` (or a plain `Release`).
    /// - Throws: ``RepositoryError/malformed(url:message:)``.
    init(text: String, url: String) throws(RepositoryError) {
        self.url = url
        let stanzas: [Deb822Stanza]
        do {
            stanzas = try Deb822Parser.parse(text, source: url, allowComments: false)
        } catch {
            throw .malformed(url: url, message: "line \(error.line): \(error.message)")
        }
        guard let stanza = stanzas.first else { throw .malformed(url: url, message: "the Release file is empty") }
        func words(_ field: String) -> [String] {
            (stanza[field] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        }
        architectures = words("Architectures")
        components = words("Components")
        acquireByHash = stanza["Acquire-By-Hash"]?.lowercased() == "yes"
        architectureAllInEveryIndex = stanza["No-Support-for-Architecture-all"] == "Packages"
        guard let sums = stanza["SHA256"] else {
            throw .malformed(url: url, message: "no SHA256 field (kiln checks indexes by SHA-256 only)")
        }
        var files: [String: Entry] = [:]
        for line in sums.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.isEmpty { continue }
            guard parts.count == 3, parts[0].utf8.count == 64, let size = Int64(parts[1]) else {
                throw .malformed(url: url, message: "malformed SHA256 line \"\(line)\"")
            }
            files[String(parts[2])] = Entry(sha256: String(parts[0]).lowercased(), size: size)
        }
        self.files = files
    }
}
