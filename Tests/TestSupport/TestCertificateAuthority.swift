import Foundation

/// A throwaway certificate authority made with the `openssl` CLI in a
/// directory of the test's, and the certificates it signs: a registry's
/// TLS certificate, a token issuer's signing certificate.
public struct TestCertificateAuthority: Sendable {
    /// A PEM certificate and the PEM private key it certifies.
    public struct Issued: Sendable {
        /// The certificate's PEM file.
        public let certificate: String
        /// The unencrypted private key's PEM file.
        public let key: String
    }

    /// The CA's self-signed certificate (PEM): what a client trusts.
    public let certificate: String
    private let key: String
    private let directory: String

    /// Makes a P-256 CA called `name` in `directory` (files `NAME-ca.crt`,
    /// `NAME-ca.key`), valid for two days.
    /// - Throws: ``TestSupportError`` when `openssl` fails.
    public init(name: String, in directory: String) throws {
        self.directory = directory
        certificate = directory + "/" + name + "-ca.crt"
        key = directory + "/" + name + "-ca.key"
        try Tools.run(["openssl", "req", "-x509"] + Self.ecKey + [
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=kiln \(name) test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
        ])
    }

    /// Signs a certificate for `name` (files `NAME.crt`, `NAME.key`).
    /// - Parameters:
    ///   - subjectAltNames: e.g. `["IP:127.0.0.1", "DNS:localhost"]`; none
    ///     for a certificate that names no host (a token signer).
    ///   - rsa: an RSA 2048 key (for RS256 signatures) instead of P-256.
    /// - Throws: ``TestSupportError`` when `openssl` fails.
    public func issue(_ name: String, subjectAltNames: [String] = [], rsa: Bool = false) throws -> Issued {
        let issued = Issued(certificate: directory + "/" + name + ".crt", key: directory + "/" + name + ".key")
        let request = directory + "/" + name + ".csr", extensions = directory + "/" + name + ".ext"
        let keyOptions = rsa ? ["-newkey", "rsa:2048", "-nodes"] : Self.ecKey
        try Tools.run(["openssl", "req"] + keyOptions + ["-keyout", issued.key, "-out", request, "-subj", "/CN=\(name)"])
        var lines = ["basicConstraints = CA:FALSE", "keyUsage = digitalSignature"]
        if !subjectAltNames.isEmpty {
            lines += ["subjectAltName = " + subjectAltNames.joined(separator: ","), "extendedKeyUsage = serverAuth"]
        }
        try Files.write(lines.joined(separator: "\n") + "\n", to: extensions)
        try Tools.run([
            "openssl", "x509", "-req", "-in", request, "-CA", certificate, "-CAkey", key, "-CAcreateserial",
            "-out", issued.certificate, "-days", "2", "-extfile", extensions,
        ])
        return issued
    }

    private static let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
}
