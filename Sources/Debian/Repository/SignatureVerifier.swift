internal import Foundation
internal import Archive
import KilnCore
internal import Strategies
internal import Synchronization
import KilnProcess

/// Checks a clearsigned `InRelease` with `gpgv` and returns only the text
/// that was signed.
///
/// gpgv writes the signed text itself (`--output`), so nothing outside the
/// signature (text before the armor, a second message after it) can reach
/// the Release parser. A signature counts when gpgv reports both `GOODSIG`
/// (valid, key neither expired nor revoked) and `VALIDSIG`, and no `BADSIG`.
struct SignatureVerifier: Sendable {
    /// A private directory for dearmored keyrings and gpgv's output.
    let workDirectory: String

    /// Verifies `signedFile` (fetched from `url`) against `keyring`.
    /// - Returns: the signed text.
    /// - Throws: ``RepositoryError/badSignature(url:keyring:detail:)`` when no
    ///   key of the keyring made a valid signature, ``RepositoryError/gpgvMissing``,
    ///   ``RepositoryError/unreadableKeyring(path:message:)``.
    func verify(_ signedFile: String, url: String, keyring: Keyring, source: String) async throws(RepositoryError) -> String {
        let keyrings = try keyringFiles(keyring, source: source)
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let gpgv = ChildProcess.locate("gpgv", searchPath: searchPath, relativeTo: "/") else { throw .gpgvMissing }
        let output = (workDirectory as NSString).appendingPathComponent("signed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: output) }
        var arguments = [gpgv, "--homedir", workDirectory, "--status-fd", "1", "--output", output]
        for file in keyrings { arguments += ["--keyring", file] }
        arguments.append(signedFile)
        // Only PATH and LC_ALL=C: gpgv's words must not depend on the host.
        let child = ChildProcess(executable: gpgv, arguments: arguments, environment: ["PATH": searchPath, "LC_ALL": "C"])
        let lines = Mutex<(status: [String], errors: [String])>(([], []))
        do {
            _ = try await child.run { line in
                lines.withLock {
                    if line.stream == .standardOutput { $0.status.append(line.text) } else { $0.errors.append(line.text) }
                }
            }
        } catch {
            throw .badSignature(url: url, keyring: keyringLabel(keyring), detail: "cannot run gpgv: \(error)")
        }
        let (status, errors) = lines.withLock { $0 }
        var good = false
        var valid = false
        var bad = false
        var problems: [String] = []
        for line in status where line.hasPrefix("[GNUPG:] ") {
            let words = line.dropFirst("[GNUPG:] ".count).split(separator: " ")
            switch words.first {
            case "GOODSIG": good = true
            case "VALIDSIG": valid = true
            case "BADSIG": bad = true; problems.append("bad signature")
            case "EXPKEYSIG": problems.append("signed by an expired key")
            case "REVKEYSIG": problems.append("signed by a revoked key")
            case "EXPSIG": problems.append("the signature has expired")
            case "NO_PUBKEY": problems.append("signed by key \(words.dropFirst().first ?? "?"), which is not in the keyring")
            case "NODATA": problems.append("no signature found")
            default: break
            }
        }
        guard good, valid, !bad else {
            let detail = problems.isEmpty ? "gpgv: " + errors.map(\.trimmingSpaces).filter { !$0.isEmpty }.joined(separator: "; ") : problems.joined(separator: "; ")
            throw .badSignature(url: url, keyring: keyringLabel(keyring), detail: detail)
        }
        guard let data = FileManager.default.contents(atPath: output) else {
            throw .badSignature(url: url, keyring: keyringLabel(keyring), detail: "gpgv wrote no signed text")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private func keyringLabel(_ keyring: Keyring) -> String {
        switch keyring {
        case .files(let files): files.joined(separator: ", ")
        case .armored: "the inline Signed-By key"
        case .none: "no keyring"
        }
    }

    /// Binary keyring files for gpgv, which cannot read ASCII armor.
    private func keyringFiles(_ keyring: Keyring, source: String) throws(RepositoryError) -> [String] {
        switch keyring {
        case .none:
            throw .noKeyring(source: source)
        case .armored(let text):
            return [try writeDearmored(text, label: "the inline Signed-By key")]
        case .files(let files):
            var result: [String] = []
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw .unreadableKeyring(path: file, message: "cannot read the file")
                }
                let bytes = [UInt8](data)
                if Armor.isArmored(bytes) {
                    result.append(try writeDearmored(String(decoding: bytes, as: UTF8.self), label: file))
                } else {
                    result.append(file)
                }
            }
            return result
        }
    }

    private func writeDearmored(_ text: String, label: String) throws(RepositoryError) -> String {
        guard let binary = Armor.decode(text), !binary.isEmpty else {
            throw .unreadableKeyring(path: label, message: "not an ASCII-armored OpenPGP key block")
        }
        let path = (workDirectory as NSString).appendingPathComponent("keyring-\(UUID().uuidString).gpg")
        guard FileManager.default.createFile(atPath: path, contents: Data(binary)) else {
            throw .io(path: path, message: "cannot write the dearmored keyring")
        }
        return path
    }
}

/// OpenPGP ASCII armor (RFC 4880 §6): base64 between the BEGIN and END
/// lines, after the header block, before the `=` checksum line.
enum Armor {
    static func isArmored(_ bytes: [UInt8]) -> Bool {
        let prefix = Array("-----BEGIN PGP".utf8)
        var start = 0
        while start < bytes.count, bytes[start] == 0x20 || bytes[start] == 0x0a || bytes[start] == 0x0d || bytes[start] == 0x09 { start += 1 }
        return bytes.count - start >= prefix.count && Array(bytes[start..<start + prefix.count]) == prefix
    }

    /// The concatenated binary packets of every armored block in `text`.
    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        var inBlock = false
        var inHeaders = false
        var body = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine).trimmingSpaces.replacingOccurrences(of: "\r", with: "")
            if line.hasPrefix("-----BEGIN PGP") {
                inBlock = true
                inHeaders = true
                body = ""
                continue
            }
            guard inBlock else { continue }
            if line.hasPrefix("-----END PGP") {
                guard let decoded = Data(base64Encoded: body) else { return nil }
                output += decoded
                inBlock = false
                continue
            }
            if inHeaders {
                if line.isEmpty { inHeaders = false; continue }
                if line.contains(":") { continue }
                inHeaders = false
            }
            if line.hasPrefix("=") { continue }
            body += line
        }
        return inBlock ? nil : output
    }
}
