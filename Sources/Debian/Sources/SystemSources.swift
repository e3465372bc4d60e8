import KilnCore
internal import Foundation

/// Reads the build host's apt sources, as apt does: `sources.list`, then
/// `sources.list.d/*.list` and `*.sources` in file-name order.
///
/// Only `deb` entries are kept (`deb-src` are for source packages), entries
/// with `Enabled: no` are skipped. A source without `Signed-By` is checked
/// against apt's trusted keyrings (`trusted.gpg` and `trusted.gpg.d/*.gpg`,
/// `*.asc`). One-line options other than `arch=`, `signed-by=` and
/// `trusted=` do not change what is read and are ignored, as apt ignores
/// options it does not know.
public struct SystemSources: Sendable {
    /// The directory apt's `/etc/apt` lives under (`/` on a real host; a
    /// fixture tree in tests).
    public var root: String

    /// Creates a reader; nothing is read until ``sources()``.
    public init(root: String = "/") {
        self.root = root
    }

    private var etcApt: String { (root as NSString).appendingPathComponent("etc/apt") }

    /// Every enabled `deb` source, in apt's order.
    /// - Throws: ``SourcesError`` for a file that cannot be read or parsed.
    public func sources() throws(SourcesError) -> [AptSource] {
        var result: [AptSource] = []
        let list = (etcApt as NSString).appendingPathComponent("sources.list")
        if FileManager.default.fileExists(atPath: list) {
            result += try oneLineSources(file: list)
        }
        let directory = (etcApt as NSString).appendingPathComponent("sources.list.d")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let path = (directory as NSString).appendingPathComponent(name)
            if name.hasSuffix(".list") {
                result += try oneLineSources(file: path)
            } else if name.hasSuffix(".sources") {
                result += try deb822Sources(file: path)
            }
        }
        return result
    }

    /// apt's keyrings for sources without `Signed-By`.
    func trustedKeyrings() -> [String] {
        var files: [String] = []
        let legacy = (etcApt as NSString).appendingPathComponent("trusted.gpg")
        if FileManager.default.fileExists(atPath: legacy) { files.append(legacy) }
        let directory = (etcApt as NSString).appendingPathComponent("trusted.gpg.d")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where name.hasSuffix(".gpg") || name.hasSuffix(".asc") {
            files.append((directory as NSString).appendingPathComponent(name))
        }
        return files
    }

    private func read(_ file: String) throws(SourcesError) -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SourcesError(origin: file, message: "cannot read the file")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `deb [opt=value …] uri suite [component …]`.
    func oneLineSources(file: String) throws(SourcesError) -> [AptSource] {
        var result: [AptSource] = []
        var lineNumber = 0
        for rawLine in try read(file).split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let origin = "\(file):\(lineNumber)"
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            var words: [String] = []
            var options: [String] = []
            var rest = Substring(String(line).trimmingSpaces)
            guard !rest.isEmpty else { continue }
            let type = rest.prefix { $0 != " " && $0 != "\t" }
            rest = Substring(String(rest.dropFirst(type.count)).trimmingSpaces)
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else {
                    throw SourcesError(origin: origin, message: "unclosed \"[\" in the options")
                }
                options = rest[rest.index(after: rest.startIndex)..<close].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                rest = rest[rest.index(after: close)...]
            }
            words = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard type == "deb" || type == "deb-src" else {
                throw SourcesError(origin: origin, message: "unknown source type \"\(type)\" (expected deb or deb-src)")
            }
            guard type == "deb" else { continue }
            guard words.count >= 2 else {
                throw SourcesError(origin: origin, message: "expected \"deb URI SUITE [COMPONENT…]\"")
            }
            var architectures: [String]?
            var signedBy: [String] = []
            var trusted = false
            for option in options {
                guard let equals = option.firstIndex(of: "=") else { continue }
                let key = option[..<equals]
                let values = option[option.index(after: equals)...].split(separator: ",").map(String.init)
                switch key {
                case "arch": architectures = values
                case "signed-by": signedBy = values
                case "trusted": trusted = values == ["yes"]
                default: break
                }
            }
            let suite = words[1]
            let components = Array(words.dropFirst(2))
            if suite.hasSuffix("/") != components.isEmpty {
                throw SourcesError(origin: origin, message: "a suite ending in \"/\" takes no components, any other suite needs at least one")
            }
            result.append(AptSource(
                uri: words[0], suite: suite, components: components,
                keyring: try keyring(signedBy, origin: origin),
                architectures: architectures, allowUnsigned: trusted, origin: origin
            ))
        }
        return result
    }

    /// deb822 stanzas with `Types`, `URIs`, `Suites`, `Components`, ….
    func deb822Sources(file: String) throws(SourcesError) -> [AptSource] {
        let text = try read(file)
        let stanzas: [Deb822Stanza]
        do {
            stanzas = try Deb822Parser.parse(text, source: file)
        } catch {
            throw SourcesError(origin: "\(error.source):\(error.line)", message: error.message)
        }
        var result: [AptSource] = []
        for stanza in stanzas {
            let origin = "\(file):\(stanza.line)"
            func list(_ field: String) -> [String] {
                (stanza[field] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
            }
            if let enabled = stanza["Enabled"], enabled.lowercased() == "no" { continue }
            let types = list("Types")
            guard !types.isEmpty else { throw SourcesError(origin: origin, message: "missing \"Types\"") }
            for type in types where type != "deb" && type != "deb-src" {
                throw SourcesError(origin: origin, message: "unknown source type \"\(type)\" (expected deb or deb-src)")
            }
            guard types.contains("deb") else { continue }
            let uris = list("URIs")
            let suites = list("Suites")
            let components = list("Components")
            guard !uris.isEmpty else { throw SourcesError(origin: origin, message: "missing \"URIs\"") }
            guard !suites.isEmpty else { throw SourcesError(origin: origin, message: "missing \"Suites\"") }
            let keyring: Keyring
            if let signedBy = stanza["Signed-By"], signedBy.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
                keyring = .armored(SystemSources.unfoldArmor(signedBy))
            } else {
                let paths = (stanza["Signed-By"] ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "," })
                keyring = try self.keyring(paths.map(String.init), origin: origin)
            }
            let architectures = stanza["Architectures"] == nil ? nil : list("Architectures")
            let trusted = stanza["Trusted"]?.lowercased() == "yes"
            for uri in uris {
                for suite in suites {
                    if suite.hasSuffix("/") != components.isEmpty {
                        throw SourcesError(origin: origin, message: "suite \"\(suite)\": a suite ending in \"/\" takes no components, any other suite needs at least one")
                    }
                    result.append(AptSource(
                        uri: uri, suite: suite, components: components, keyring: keyring,
                        architectures: architectures, allowUnsigned: trusted, origin: origin
                    ))
                }
            }
        }
        return result
    }

    /// Keyring paths from `Signed-By` / `signed-by=`; apt's trusted keyrings
    /// when none is named.
    private func keyring(_ values: [String], origin: String) throws(SourcesError) -> Keyring {
        guard !values.isEmpty else {
            let trusted = trustedKeyrings()
            return trusted.isEmpty ? .none : .files(trusted)
        }
        var files: [String] = []
        for value in values {
            guard value.hasPrefix("/") else {
                throw SourcesError(origin: origin, message: "Signed-By \"\(value)\" is not a keyring path; kiln reads keyring files or an inline key block, not fingerprints")
            }
            files.append(root == "/" ? value : root.trimmingTrailingSlash + value)
        }
        return .files(files)
    }

    /// A deb822 inline key: continuation lines hold the armor, `.` stands
    /// for an empty line.
    static func unfoldArmor(_ value: String) -> String {
        value.split(separator: "\n", omittingEmptySubsequences: false)
            .drop(while: { $0.isEmpty })
            .map { $0 == "." ? "" : String($0) }
            .joined(separator: "\n") + "\n"
    }
}

/// An apt source file that cannot be used.
public struct SourcesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `file:line` of the entry.
    public var origin: String
    /// What is wrong.
    public var message: String

    /// Creates an error; `origin` is `file:line`, or just the file for a problem
    /// that is not on one line.
    public init(origin: String, message: String) {
        self.origin = origin
        self.message = message
    }

    public var description: String { "\(origin): \(message)" }
}
