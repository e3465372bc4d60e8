import Debian

/// The Debian packages an image's dpkg database lists —
/// `/var/lib/dpkg/status` (installed entries) and `status.d/<name>` files
/// (distroless, kiln) — and which package owns which file, from their
/// `status.d/<name>.md5sums`, `info/<name>.md5sums` and `info/<name>.list`.
struct DpkgDatabase {
    /// One installed package.
    struct Package: Sendable {
        var name: String
        var version: String
        var architecture: String
        var maintainer: String?
        /// The status file that lists it (relative), whose layer is the
        /// package's.
        var statusPath: String
    }

    /// In the order their status files sort, then as listed.
    var packages: [Package] = []
    /// Image path (relative, as the image resolves it) → index into
    /// ``packages``.
    var owners: [String: Int] = [:]

    /// Reads the database out of `catalog`'s captured files.
    init(_ catalog: ImageFileCatalog) {
        var byName: [String: Int] = [:]
        for path in catalog.captured.keys.sorted() {
            let isStatus = path == "var/lib/dpkg/status"
            let isStatusD = path.hasPrefix("var/lib/dpkg/status.d/") && !path.hasSuffix(".md5sums")
            guard isStatus || isStatusD, let bytes = catalog.captured[path],
                  let stanzas = try? Deb822Parser.parse(String(decoding: bytes, as: UTF8.self), source: path) else { continue }
            for stanza in stanzas {
                guard let name = stanza["Package"], let version = stanza["Version"] else { continue }
                // status keeps removed packages until purged: only what is installed.
                if isStatus, let status = stanza["Status"], !status.hasSuffix(" installed") { continue }
                let package = Package(
                    name: name, version: version, architecture: stanza["Architecture"] ?? "all", maintainer: stanza["Maintainer"], statusPath: path)
                if byName[name] == nil { byName[name] = packages.count }
                packages.append(package)
            }
        }
        // File lists name files as the package installed them; a usr-merged
        // image reaches `/bin/ls` at `usr/bin/ls`.
        for path in catalog.captured.keys.sorted() {
            let list: (name: Substring, md5sums: Bool)
            if path.hasPrefix("var/lib/dpkg/status.d/"), path.hasSuffix(".md5sums") {
                list = (path.dropFirst(22).dropLast(8), true)
            } else if path.hasPrefix("var/lib/dpkg/info/"), path.hasSuffix(".md5sums") {
                list = (path.dropFirst(18).dropLast(8), true)
            } else if path.hasPrefix("var/lib/dpkg/info/"), path.hasSuffix(".list") {
                list = (path.dropFirst(18).dropLast(5), false)
            } else {
                continue
            }
            // `info/libc6:amd64.list` on multi-arch systems.
            let name = String(list.name.split(separator: ":").first ?? list.name)
            guard let owner = byName[name], let bytes = catalog.captured[path] else { continue }
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                var file = Substring(line)
                if list.md5sums {
                    // `<md5>  <path>`
                    guard let space = file.firstIndex(of: " ") else { continue }
                    file = file[space...].drop { $0 == " " }
                }
                let relative = String(file.drop { $0 == "/" })
                guard !relative.isEmpty else { continue }
                let resolved = (try? catalog.fileSystem.resolve(relative)) ?? relative
                if owners[resolved] == nil { owners[resolved] = owner }
            }
        }
    }
}
