public import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// Which proxy, if any, a URL goes through: read from the environment the
/// way curl reads it, with three documented differences.
///
/// - `https://` URLs use `https_proxy`, else `HTTPS_PROXY`; `http://` URLs
///   use `http_proxy`, else `HTTP_PROXY`; either falls back to `all_proxy`,
///   else `ALL_PROXY`. (curl ignores upper-case `HTTP_PROXY` because a CGI
///   program gets a request's `Proxy:` header under that name, "httpoxy";
///   kiln is never run as CGI and CI systems set the upper-case name, so
///   kiln honours it.)
/// - A proxy is `http://[user:password@]host[:port]` (the scheme may be
///   left out; the port defaults to 1080 as in curl) or
///   `socks5://host[:port]` / `socks5h://…`. Other schemes are refused with
///   an error rather than ignored.
/// - `no_proxy`, else `NO_PROXY`, lists hosts reached directly: comma (or
///   space) separated; `*` alone matches every host; a name matches
///   itself and every name below it, with or without a leading dot
///   (`example.com` and `.example.com` both match `example.com` and
///   `a.example.com`, not `badexample.com`); an IP address matches itself,
///   and `address/bits` matches a network (CIDR, as curl since 7.86).
///   Difference: an entry `host:port` matches that host on that port only
///   (curl compares names alone, so it would never match; Go and wget
///   accept the form).
/// - Difference: loopback hosts (`localhost`, `*.localhost`, 127.0.0.0/8,
///   `::1`) are always reached directly. A proxy's own loopback is not the
///   client's, so proxying them can only fail; Go's `net/http` decides the
///   same.
public struct ProxySettings: Sendable, Hashable {
    /// The proxy for `http://` URLs, if any.
    public var http: Proxy?
    /// The proxy for `https://` URLs, if any.
    public var https: Proxy?
    /// The `no_proxy` entries, parsed.
    public var noProxy: [NoProxyEntry]

    /// One proxy server.
    public struct Proxy: Sendable, Hashable, CustomStringConvertible {
        /// How the client talks to the proxy.
        public enum Kind: Sendable, Hashable {
            /// An HTTP proxy (`CONNECT` for `https://` URLs).
            case http
            /// A SOCKS5 proxy.
            case socks5
        }

        /// HTTP or SOCKS5.
        public var kind: Kind
        /// The proxy's host name or address.
        public var host: String
        /// The proxy's port.
        public var port: Int
        /// `user:password` for HTTP Basic proxy authentication, if given.
        public var credentials: String?

        /// `http://host:port` (credentials never shown).
        public var description: String {
            "\(kind == .http ? "http" : "socks5")://\(host):\(port)"
        }

        /// Parses a proxy setting as curl does (`host:port`,
        /// `http://user:password@host:port`, `socks5://host`).
        /// - Parameter variable: the environment variable it came from, for
        ///   the error message.
        /// - Throws: ``HTTPTransportError`` (`.invalidRequest`) for a scheme
        ///   kiln cannot use or a value that is not a URL.
        public init(parsing value: String, variable: String) throws(HTTPTransportError) {
            let text = value.contains("://") ? value : "http://" + value
            guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
                throw HTTPTransportError(.invalidRequest, "\(variable)=\(Self.redacted(value)) is not a proxy URL")
            }
            switch components.scheme?.lowercased() {
            case "http": kind = .http
            case "socks5", "socks5h": kind = .socks5
            default:
                throw HTTPTransportError(
                    .invalidRequest,
                    "\(variable)=\(Self.redacted(value)): kiln reaches proxies over http:// or socks5://, not \(components.scheme ?? "")://")
            }
            self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
            port = components.port ?? 1080
            if let user = components.percentEncodedUser {
                let password = components.percentEncodedPassword ?? ""
                credentials = (user.removingPercentEncoding ?? user) + ":" + (password.removingPercentEncoding ?? password)
            } else {
                credentials = nil
            }
        }

        /// A proxy setting fit for a message: `user:password@` shown as
        /// `***@`, so an error never prints the proxy's password.
        static func redacted(_ value: String) -> String {
            guard let at = value.lastIndex(of: "@") else { return value }
            let start = value.range(of: "://").map(\.upperBound) ?? value.startIndex
            guard start <= at else { return value }
            return String(value[..<start]) + "***" + String(value[at...])
        }
    }

    /// One `no_proxy` entry.
    public enum NoProxyEntry: Sendable, Hashable {
        /// `*`: every host.
        case everything
        /// A domain name, lower case, without a leading dot; and a port if
        /// the entry named one.
        case domain(String, port: Int?)
        /// An IP network: the address bytes and the prefix length
        /// (32 or 128 for a single address); and a port if named.
        case network([UInt8], bits: Int, port: Int?)
    }

    /// Settings from explicit values (tests; callers with their own flags).
    public init(http: Proxy? = nil, https: Proxy? = nil, noProxy: [NoProxyEntry] = []) {
        self.http = http
        self.https = https
        self.noProxy = noProxy
    }

    /// Settings from an environment (`ProcessInfo.processInfo.environment`).
    /// - Throws: ``HTTPTransportError`` (`.invalidRequest`) when a proxy
    ///   variable holds something kiln cannot use.
    public init(environment: [String: String]) throws(HTTPTransportError) {
        func first(_ names: String...) -> (name: String, value: String)? {
            for name in names {
                if let value = environment[name], !value.isEmpty { return (name, value) }
            }
            return nil
        }
        if let (name, value) = first("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY") {
            http = try Proxy(parsing: value, variable: name)
        }
        if let (name, value) = first("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY") {
            https = try Proxy(parsing: value, variable: name)
        }
        // As curl: a set `no_proxy`, even empty, hides `NO_PROXY`.
        noProxy = ProxySettings.parseNoProxy(environment["no_proxy"] ?? environment["NO_PROXY"] ?? "")
    }

    /// The entries of a `no_proxy` value; entries that are neither a name
    /// nor an address are dropped, as curl drops them.
    public static func parseNoProxy(_ value: String) -> [NoProxyEntry] {
        value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).compactMap { token in
            var entry = String(token).lowercased()
            if entry == "*" { return .everything }
            var port: Int?
            // `host:port`, `[v6]:port`; a bare IPv6 address has several colons.
            if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
                let rest = entry[entry.index(after: close)...]
                if rest.hasPrefix(":") { port = Int(rest.dropFirst()) }
                entry = String(entry[entry.index(after: entry.startIndex)..<close])
            } else if entry.filter({ $0 == ":" }).count == 1, let colon = entry.firstIndex(of: ":") {
                port = Int(entry[entry.index(after: colon)...])
                guard port != nil else { return nil }
                entry = String(entry[..<colon])
            }
            var bits: Int?
            if let slash = entry.firstIndex(of: "/") {
                guard let count = Int(entry[entry.index(after: slash)...]) else { return nil }
                bits = count
                entry = String(entry[..<slash])
            }
            if let address = ipAddress(entry) {
                let width = address.count * 8
                let prefix = bits ?? width
                guard prefix >= 0, prefix <= width else { return nil }
                return .network(address, bits: prefix, port: port)
            }
            while entry.hasPrefix(".") { entry.removeFirst() }
            while entry.hasSuffix(".") { entry.removeLast() }
            guard bits == nil, !entry.isEmpty else { return nil }
            return .domain(entry, port: port)
        }
    }

    /// The proxy `url` goes through, or nil to connect directly.
    public func proxy(for url: URL) -> Proxy? {
        guard let scheme = url.scheme?.lowercased(), let host = url.host else { return nil }
        let proxy: Proxy? = scheme == "https" ? https : scheme == "http" ? http : nil
        guard let proxy else { return nil }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return bypasses(host: host, port: port) ? nil : proxy
    }

    /// Whether `host` (a name, or an address with or without brackets) on
    /// `port` is reached directly: loopback, or matched by a `no_proxy` entry.
    public func bypasses(host: String, port: Int) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        while name.hasSuffix(".") { name.removeLast() }
        let address = ProxySettings.ipAddress(name)
        if ProxySettings.isLoopback(name: name, address: address) { return true }
        return noProxy.contains { entry in
            switch entry {
            case .everything:
                return true
            case .domain(let domain, let entryPort):
                guard entryPort == nil || entryPort == port, address == nil else { return false }
                return name == domain || name.hasSuffix("." + domain)
            case .network(let network, let bits, let entryPort):
                guard entryPort == nil || entryPort == port, let address, address.count == network.count else { return false }
                return ProxySettings.prefix(of: address, equals: network, bits: bits)
            }
        }
    }

    static func isLoopback(name: String, address: [UInt8]?) -> Bool {
        if name == "localhost" || name.hasSuffix(".localhost") { return true }
        guard let address else { return false }
        return address.count == 4 ? address[0] == 127 : address == [UInt8](repeating: 0, count: 15) + [1]
    }

    static func prefix(of address: [UInt8], equals network: [UInt8], bits: Int) -> Bool {
        var remaining = bits
        for (a, b) in zip(address, network) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 address in text form, or nil.
    static func ipAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
