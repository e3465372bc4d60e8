internal import Foundation

/// Extra TLS trust roots, by host: PEM certificate files trusted for that
/// host in addition to the system trust store (a private registry's CA,
/// from `--cert-dir` or `/etc/containers/certs.d/<host[:port]>/`).
public struct TrustRoots: Sendable, Hashable {
    /// PEM files by host key: `host` (every port) or `host:port` (that
    /// port only, preferred when both are present). Host names are compared
    /// in lower case.
    public var files: [String: [String]]

    /// Roots from `host[:port]` → PEM file paths.
    public init(files: [String: [String]] = [:]) {
        self.files = [:]
        for (key, paths) in files { self.files[key.lowercased(), default: []] += paths }
    }

    /// The `*.crt` files directly in `directory`, sorted (the files
    /// `--cert-dir` and `certs.d/<host>/` contribute).
    /// - Throws: ``HTTPTransportError`` (`.file`) when the directory cannot
    ///   be listed.
    public static func certificateFiles(in directory: String) throws(HTTPTransportError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw HTTPTransportError(.file, "\(directory): cannot list the certificate directory")
        }
        return names.filter { $0.hasSuffix(".crt") }.sorted().map { (directory as NSString).appendingPathComponent($0) }
    }

    /// The key of the files that apply to `host` on `port`, if any.
    func key(host: String, port: Int) -> String? {
        var name = host.lowercased()
        if name.contains(":"), !name.hasPrefix("[") { name = "[" + name + "]" }
        let withPort = "\(name):\(port)"
        if files[withPort] != nil { return withPort }
        if files[name] != nil { return name }
        return nil
    }
}
