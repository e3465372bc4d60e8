import Foundation
import Debian

/// The license of a Debian package, from its machine-readable
/// `debian/copyright` (DEP-5), as an SPDX license expression.
///
/// Each `Files` paragraph's `License` short name is mapped to its SPDX
/// identifier (`GPL-2+` → `GPL-2.0-or-later`, `Expat` → `MIT`); a name
/// SPDX does not list becomes `LicenseRef-<name>`, whose text is the
/// standalone `License` paragraph's (or a sentence naming it). The
/// package's license is every distinct paragraph license joined with AND.
struct DebianCopyright: Sendable {
    /// The package's declared license expression.
    var expression: String
    /// `LicenseRef-…` identifier → its text, for every one the expression uses.
    var references: [String: String]

    /// nil when the file is not in the DEP-5 format or names no license.
    init?(_ text: String) {
        guard let stanzas = try? Deb822Parser.parse(text, source: "copyright"), let header = stanzas.first,
              let format = header["Format"], format.contains("copyright-format/1.0") || format.lowercased().contains("dep5") else { return nil }
        var texts: [String: String] = [:]
        var licenses: [String] = []
        for stanza in stanzas.dropFirst() {
            guard let field = stanza["License"] else { continue }
            let lines = field.split(separator: "\n", omittingEmptySubsequences: false)
            let name = lines.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard !name.isEmpty else { continue }
            if stanza["Files"] != nil {
                if !licenses.contains(name) { licenses.append(name) }
            } else if lines.count > 1 {
                texts[name.lowercased()] = lines.dropFirst().map { line in
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    return trimmed == "." ? "" : trimmed
                }.joined(separator: "\n")
            }
        }
        guard !licenses.isEmpty else { return nil }
        var references: [String: String] = [:]
        let terms = licenses.map { license -> String in
            let expression = DebianCopyright.expression(license) { name, reference in
                references[reference] = texts[name.lowercased()] ?? "The license named \"\(name)\" in the package's debian/copyright."
            }
            return licenses.count > 1 && expression.contains(" OR ") ? "(" + expression + ")" : expression
        }
        self.expression = terms.joined(separator: " AND ")
        self.references = references
    }

    /// One `License` field's first line (`GPL-2+ or Artistic`) as an SPDX
    /// expression; `reference` is told each `LicenseRef-` made.
    static func expression(_ field: String, reference: (String, String) -> Void) -> String {
        var terms: [(operator: String?, name: String)] = []
        var current: [Substring] = []
        var pending: String?
        for word in field.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            var word = word
            var comma = false
            if word.hasSuffix(",") { word = word.dropLast(); comma = true }
            let lower = word.lowercased()
            if (lower == "or" || lower == "and"), !current.isEmpty {
                terms.append((pending, current.joined(separator: " ")))
                current = []
                pending = lower.uppercased()
                continue
            }
            current.append(word)
            if comma {
                // "A, B" lists alternatives in DEP-5 (copyright-format 1.0).
                terms.append((pending, current.joined(separator: " ")))
                current = []
                pending = "OR"
            }
        }
        if !current.isEmpty { terms.append((pending, current.joined(separator: " "))) }
        return terms.map { term in
            let id = identifier(term.name, reference: reference)
            return term.operator.map { $0 + " " + id } ?? id
        }.joined(separator: " ")
    }

    /// The SPDX identifier of a DEP-5 short name, or a `LicenseRef-`.
    static func identifier(_ name: String, reference: (String, String) -> Void) -> String {
        if let known = spdx[name.lowercased()] { return known }
        let cleaned = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "-" })
        let id = "LicenseRef-" + cleaned
        reference(name, id)
        return id
    }

    /// DEP-5 short names (lowercased) → SPDX identifiers; SPDX identifiers
    /// map to themselves.
    static let spdx: [String: String] = {
        var table: [String: String] = [
            "apache-2.0": "Apache-2.0", "apache-1.1": "Apache-1.1", "artistic": "Artistic-1.0", "artistic-1.0": "Artistic-1.0",
            "artistic-2.0": "Artistic-2.0", "bsd-2-clause": "BSD-2-Clause", "bsd-3-clause": "BSD-3-Clause", "bsd-4-clause": "BSD-4-Clause",
            "bsl-1.0": "BSL-1.0", "cc0-1.0": "CC0-1.0", "cc0": "CC0-1.0", "cc-by-3.0": "CC-BY-3.0", "cc-by-4.0": "CC-BY-4.0",
            "cc-by-sa-3.0": "CC-BY-SA-3.0", "cc-by-sa-4.0": "CC-BY-SA-4.0", "expat": "MIT", "mit": "MIT", "isc": "ISC", "zlib": "Zlib",
            "ftl": "FTL", "openssl": "OpenSSL", "curl": "curl", "python-2.0": "Python-2.0", "psf-2": "PSF-2.0", "x11": "X11",
            "0bsd": "0BSD", "unlicense": "Unlicense", "wtfpl": "WTFPL", "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0",
            "epl-1.0": "EPL-1.0", "epl-2.0": "EPL-2.0", "cddl-1.0": "CDDL-1.0", "ofl-1.1": "OFL-1.1", "sil-ofl-1.1": "OFL-1.1",
            "unicode-dfs-2016": "Unicode-DFS-2016", "bzip2-1.0.6": "bzip2-1.0.6", "libpng": "Libpng", "ijg": "IJG", "tcl": "TCL",
        ]
        for (family, spdx) in [("gpl", "GPL"), ("lgpl", "LGPL"), ("agpl", "AGPL"), ("gfdl", "GFDL")] {
            for version in ["1", "1.0", "2", "2.0", "2.1", "3", "3.0", "1.1", "1.2", "1.3"] {
                let full = version.contains(".") ? version : version + ".0"
                // Only versions that exist for the family.
                let exists: Bool
                switch family {
                case "gpl": exists = ["1.0", "2.0", "3.0"].contains(full)
                case "lgpl": exists = ["2.0", "2.1", "3.0"].contains(full)
                case "agpl": exists = ["1.0", "3.0"].contains(full)
                default: exists = ["1.1", "1.2", "1.3"].contains(full)
                }
                guard exists else { continue }
                table["\(family)-\(version)"] = "\(spdx)-\(full)-only"
                table["\(family)-\(version)+"] = "\(spdx)-\(full)-or-later"
                table["\(family)-\(full)-only"] = "\(spdx)-\(full)-only"
                table["\(family)-\(full)-or-later"] = "\(spdx)-\(full)-or-later"
            }
        }
        for value in Set(table.values) { table[value.lowercased()] = value }
        return table
    }()
}
