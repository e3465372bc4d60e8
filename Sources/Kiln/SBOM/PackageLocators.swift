import Foundation

/// How an SBOM names where a package is and where it came from: purls
/// (github.com/package-url/purl-spec) and the download locations SPDX
/// validators accept.
enum PackageLocators {
    /// `pkg:deb/debian/NAME@VERSION?arch=ARCH` (purl: the version's
    /// `:` percent-encoded).
    static func debianPURL(_ name: String, _ version: String, _ architecture: String) -> String {
        "pkg:deb/debian/\(purlEncode(name))@\(purlEncode(version))?arch=\(purlEncode(architecture))"
    }

    /// Percent-encodes what a purl component may not hold as is.
    static func purlEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: ".-_~+")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The download location SPDX validators accept: nil (NOASSERTION)
    /// for `file://` and loopback URLs.
    static func downloadLocation(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https" || scheme == "ftp", let host = components.host?.lowercased() else { return nil }
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]" || host.hasSuffix(".localhost")
        return loopback ? nil : url
    }
}
