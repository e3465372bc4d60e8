import Foundation
import KilnHTTP
import Testing

@Suite struct ProxySettingsTests {
    static let proxy = try! ProxySettings.Proxy(parsing: "proxy.example:3128", variable: "HTTPS_PROXY")

    static func settings(noProxy: String) -> ProxySettings {
        ProxySettings(http: proxy, https: proxy, noProxy: ProxySettings.parseNoProxy(noProxy))
    }

    /// `no_proxy` as curl reads it, plus `host:port` entries; loopback is
    /// always direct.
    @Test(arguments: [
        // (no_proxy, URL, direct?)
        ("", "https://registry.example/v2/", false),
        ("*", "https://registry.example/v2/", true),
        ("registry.example", "https://registry.example/v2/", true),
        ("registry.example", "https://a.registry.example/v2/", true),
        (".registry.example", "https://registry.example/v2/", true),
        (".registry.example", "https://a.b.registry.example/", true),
        ("registry.example", "https://badregistry.example/", false),
        ("registry.example", "https://registry.example.org/", false),
        ("other.example, registry.example", "https://registry.example/", true),
        ("other.example registry.example", "https://registry.example/", true),
        ("REGISTRY.Example", "https://registry.example/", true),
        ("registry.example:5000", "https://registry.example:5000/", true),
        ("registry.example:5000", "https://registry.example/", false),
        ("registry.example:443", "https://registry.example/", true),
        ("registry.example:80", "http://registry.example/", true),
        ("10.0.0.7", "http://10.0.0.7/", true),
        ("10.0.0.7", "http://10.0.0.8/", false),
        ("10.0.0.0/8", "http://10.200.3.4:8080/", true),
        ("10.0.0.0/8", "http://11.0.0.1/", false),
        ("192.168.0.0/16", "http://192.168.44.1/", true),
        ("192.168.0.0/17", "http://192.168.200.1/", false),
        ("fd00::/8", "http://[fd12::1]/", true),
        ("fd00::/8", "http://[fe80::1]/", false),
        ("2001:db8::1", "http://[2001:db8::1]:8080/", true),
        ("[2001:db8::1]:8080", "http://[2001:db8::1]:8080/", true),
        ("[2001:db8::1]:8080", "http://[2001:db8::1]:9090/", false),
        // A name entry does not match an address, nor a network a name.
        ("10.0.0.0/8", "http://ten.example/", false),
        ("example", "http://10.0.0.1/", false),
        // Loopback never goes through a proxy.
        ("", "http://127.0.0.1:8080/", true),
        ("", "http://127.5.6.7/", true),
        ("", "http://localhost:5000/", true),
        ("", "http://registry.localhost/", true),
        ("", "http://[::1]:5000/", true),
        ("", "http://localhost.example/", false),
    ])
    func noProxyMatching(noProxy: String, url: String, direct: Bool) throws {
        let settings = Self.settings(noProxy: noProxy)
        let chosen = settings.proxy(for: try #require(URL(string: url)))
        #expect((chosen == nil) == direct, "no_proxy=\(noProxy) \(url)")
    }

    @Test func malformedNoProxyEntriesAreDropped() {
        #expect(ProxySettings.parseNoProxy("a.example:port, 10.0.0.0/99, x/8, ,., b.example") == [.domain("b.example", port: nil)])
    }

    @Test func environmentPrecedence() throws {
        let settings = try ProxySettings(environment: [
            "https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2",
            "HTTP_PROXY": "upper-http:3", "ALL_PROXY": "all:4",
            "NO_PROXY": "internal.example",
        ])
        #expect(settings.https?.description == "http://lower:1")
        #expect(settings.http?.description == "http://upper-http:3")
        #expect(settings.noProxy == [.domain("internal.example", port: nil)])
        // As in curl, a set no_proxy hides NO_PROXY even when empty.
        #expect(try ProxySettings(environment: ["no_proxy": "", "NO_PROXY": "internal.example"]).noProxy.isEmpty)
        let fallback = try ProxySettings(environment: ["all_proxy": "socks5h://sock:1081"])
        #expect(fallback.http?.description == "socks5://sock:1081")
        #expect(fallback.https == fallback.http)
        let none = try ProxySettings(environment: [:])
        #expect(none.http == nil && none.https == nil && none.noProxy.isEmpty)
    }

    @Test func proxyURLs() throws {
        let plain = try ProxySettings.Proxy(parsing: "proxy.example", variable: "HTTPS_PROXY")
        #expect(plain.kind == .http && plain.host == "proxy.example" && plain.port == 1080 && plain.credentials == nil)
        let withUser = try ProxySettings.Proxy(parsing: "http://us%40er:p%3Ass@[fd00::5]:8080/", variable: "HTTPS_PROXY")
        #expect(withUser.host == "fd00::5" && withUser.port == 8080 && withUser.credentials == "us@er:p:ss")
        #expect(withUser.description == "http://fd00::5:8080")
        #expect(throws: HTTPTransportError(.invalidRequest, "HTTPS_PROXY=https://proxy.example: kiln reaches proxies over http:// or socks5://, not https://")) {
            try ProxySettings.Proxy(parsing: "https://proxy.example", variable: "HTTPS_PROXY")
        }
        #expect(throws: HTTPTransportError(.invalidRequest, "http_proxy=http://: is not a proxy URL")) {
            try ProxySettings(environment: ["http_proxy": "http://:"])
        }
    }

    @Test func socks4IsRefused() {
        let error = #expect(throws: HTTPTransportError.self) {
            try ProxySettings(environment: ["HTTPS_PROXY": "socks4://old:1080"])
        }
        #expect(error?.description == "HTTPS_PROXY=socks4://old:1080: kiln reaches proxies over http:// or socks5://, not socks4://")
    }

    /// A proxy's password never reaches a message.
    @Test func credentialsAreLeftOutOfErrors() {
        let scheme = #expect(throws: HTTPTransportError.self) {
            try ProxySettings(environment: ["HTTPS_PROXY": "ftp://alice:s3cret@proxy.example:21"])
        }
        #expect(scheme?.description == "HTTPS_PROXY=ftp://***@proxy.example:21: kiln reaches proxies over http:// or socks5://, not ftp://")
        let url = #expect(throws: HTTPTransportError.self) {
            try ProxySettings(environment: ["http_proxy": "alice:s3cret@"])
        }
        #expect(url?.description == "http_proxy=***@ is not a proxy URL")
    }
}
