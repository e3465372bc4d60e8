internal import Foundation
internal import Crypto
internal import Archive
import KilnCore
internal import Strategies

/// Reads an apt repository's package indexes: `InRelease` verified with
/// gpgv, then each component's `Packages` index checked against the
/// Release's SHA-256 and size.
struct RepositoryClient: Sendable {
    let fetcher: Fetcher
    /// A private scratch directory (InRelease, gpgv's output, keyrings).
    let workDirectory: String
    /// The Debian architecture installed.
    let architecture: String

    /// The index fields the resolver and the fetcher use; the rest of each
    /// stanza is skipped unread.
    static let indexFields: Set<String> = ["package", "version", "architecture", "depends", "pre-depends", "provides", "filename", "size", "sha256"]

    /// Every package the source offers for the architecture (and `all`).
    /// A source restricted to other architectures offers nothing.
    /// - Throws: ``RepositoryError``, ``IndexError``.
    func records(from source: AptSource) async throws -> [PackageRecord] {
        guard let release = try await verifiedRelease(of: source) else { return [] }
        return try await records(from: source, release: release.file)
    }

    /// A source's release file, fetched and verified, with the SHA-256 of
    /// its verified text (what names every index, so equal hashes mean equal
    /// indexes); nil for a source restricted to other architectures.
    func verifiedRelease(of source: AptSource) async throws -> (file: ReleaseFile, sha256: String)? {
        if let architectures = source.architectures, !architectures.contains(architecture) { return nil }
        return try await release(of: source)
    }

    /// Every package the source offers, from the indexes `release` names.
    func records(from source: AptSource, release: ReleaseFile) async throws -> [PackageRecord] {
        var architectures = [architecture]
        if release.architectures.contains("all"), !release.architectureAllInEveryIndex { architectures.append("all") }
        var records: [PackageRecord] = []
        let directories = source.isFlat ? [""] : source.components.flatMap { component in
            architectures.map { "\(component)/binary-\($0)/" }
        }
        for directory in directories {
            let candidates = ["Packages.xz", "Packages.gz", "Packages"].map { directory + $0 }
            guard let path = candidates.first(where: { release.files[$0] != nil }) else {
                // `binary-all` is optional; the architecture's own index is not.
                if directory.hasSuffix("binary-all/") { continue }
                throw RepositoryError.missingIndex(url: release.url, path: directory + "Packages")
            }
            let entry = release.files[path]!
            let url = source.releaseDirectory + "/" + path
            let fetchURL = release.acquireByHash
                ? source.releaseDirectory + "/" + directory + "by-hash/SHA256/" + entry.sha256
                : url
            let file = try await fetcher.verifiedFile(url: fetchURL, sha256: entry.sha256, size: entry.size)
            records += try RepositoryClient.parseIndex(file, url: url, baseURI: source.uri, origin: source.label)
        }
        return records
    }

    /// Fetches and verifies `InRelease` (or, for an unsigned source without
    /// one, `Release`).
    private func release(of source: AptSource) async throws -> (file: ReleaseFile, sha256: String) {
        let inRelease = source.releaseDirectory + "/InRelease"
        let local = (workDirectory as NSString).appendingPathComponent("InRelease-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: local) }
        if !source.allowUnsigned, source.keyring == .none { throw RepositoryError.noKeyring(source: source.label) }
        if try await fetcher.fetchRevalidating(inRelease, to: local) != nil {
            let text: String
            if source.allowUnsigned {
                let raw = String(decoding: FileManager.default.contents(atPath: local) ?? Data(), as: UTF8.self)
                guard let signed = Armor.clearsignedText(raw) else {
                    throw RepositoryError.malformed(url: inRelease, message: "not a clearsigned message")
                }
                text = signed
            } else {
                text = try await SignatureVerifier(workDirectory: workDirectory)
                    .verify(local, url: inRelease, keyring: source.keyring, source: source.label)
            }
            return (try ReleaseFile(text: text, url: inRelease), Self.sha256(text))
        }
        guard source.allowUnsigned else {
            throw RepositoryError.httpStatus(url: inRelease, status: 404)
        }
        let release = source.releaseDirectory + "/Release"
        guard try await fetcher.fetchRevalidating(release, to: local) != nil else {
            throw RepositoryError.missingFile(url: release)
        }
        let text = String(decoding: FileManager.default.contents(atPath: local) ?? Data(), as: UTF8.self)
        return (try ReleaseFile(text: text, url: release), Self.sha256(text))
    }

    static func sha256(_ text: String) -> String { Hex.string(Array(SHA256.hash(data: Array(text.utf8)))) }

    /// Streams a (compressed) `Packages` file into records.
    static func parseIndex(_ file: String, url: String, baseURI: String, origin: String) throws -> [PackageRecord] {
        let format: DecompressionFormat = url.hasSuffix(".xz") ? .xz : url.hasSuffix(".gz") ? .gzip : .none
        let input: any ByteSource = try FileByteSource(path: file)
        let source: any ByteSource = format == .none ? input : try Decompressor(format: format, source: input)
        var parser = Deb822Parser(source: url, allowComments: false, keep: indexFields)
        var records: [PackageRecord] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func add(_ stanzas: [Deb822Stanza]) throws {
            for stanza in stanzas {
                records.append(try PackageRecord(stanza: stanza, baseURI: baseURI, origin: origin))
            }
        }
        do {
            while true {
                let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                if count == 0 { break }
                try add(parser.feed(buffer[0..<count]))
            }
        } catch let error as DecompressionError {
            throw RepositoryError.malformed(url: url, message: error.description)
        }
        try add(parser.finish())
        return records
    }
}

extension Armor {
    /// The text of a clearsigned message, dash-escaping undone, without
    /// checking the signature (for `allow_unsigned` sources).
    static func clearsignedText(_ message: String) -> String? {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let begin = lines.firstIndex(where: { $0 == "-----BEGIN PGP SIGNED MESSAGE-----" }) else { return nil }
        lines = Array(lines[(begin + 1)...])
        guard let blank = lines.firstIndex(where: { $0.isEmpty }) else { return nil }
        lines = Array(lines[(blank + 1)...])
        guard let end = lines.firstIndex(where: { $0 == "-----BEGIN PGP SIGNATURE-----" }) else { return nil }
        return lines[..<end].map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : String($0) }.joined(separator: "\n") + "\n"
    }
}
