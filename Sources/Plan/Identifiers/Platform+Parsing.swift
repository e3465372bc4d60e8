public import KilnCore
extension Platform {
    /// Architectures as OCI names them (GOARCH values).
    public static let knownArchitectures = ["386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64", "ppc64le", "riscv64", "s390x"]

    /// Parses `os/architecture[/variant]`.
    public init(parsing text: String) throws(SyntaxError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw SyntaxError("platform \(quoted(text)) must be os/architecture[/variant], like \"linux/amd64\"")
        }
        if parts[0] == Platform.webAssembly.os || parts[1] == Platform.webAssembly.architecture {
            // runwasi's platform: exactly wasip1/wasm.
            guard parts.count == 2, parts[0] == Platform.webAssembly.os, parts[1] == Platform.webAssembly.architecture else {
                throw SyntaxError("platform \(quoted(text)): a WebAssembly image's platform is \"wasip1/wasm\"")
            }
            self = .webAssembly
            return
        }
        guard parts[0] == "linux" else {
            throw SyntaxError("platform \(quoted(text)): only linux and wasip1/wasm images are supported")
        }
        let aliases = ["x86_64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386", "armhf": "arm", "armv7l": "arm"]
        guard Platform.knownArchitectures.contains(parts[1]) else {
            let hint = aliases[parts[1]].map { " (did you mean \(quoted($0))?)" } ?? KeySuggestion.hint(for: parts[1], in: Platform.knownArchitectures)
            throw SyntaxError("platform \(quoted(text)): unknown architecture \(quoted(parts[1]))\(hint)")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    /// `wasip1/wasm`: WebAssembly modules as containerd's runwasi runs
    /// them (the image holds only `wasm` layers).
    public static let webAssembly = Platform(os: "wasip1", architecture: "wasm")

    /// Whether this is ``webAssembly``.
    public var isWebAssembly: Bool { os == Platform.webAssembly.os && architecture == Platform.webAssembly.architecture }

    /// The platform of the machine kiln runs on (`linux/amd64` on x86_64).
    public static var host: Platform {
        #if arch(x86_64)
        Platform(os: "linux", architecture: "amd64")
        #elseif arch(arm64)
        Platform(os: "linux", architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        Platform(os: "linux", architecture: "arm", variant: "v7")
        #elseif arch(i386)
        Platform(os: "linux", architecture: "386")
        #elseif arch(powerpc64le)
        Platform(os: "linux", architecture: "ppc64le")
        #elseif arch(s390x)
        Platform(os: "linux", architecture: "s390x")
        #else
        Platform(os: "linux", architecture: "riscv64")
        #endif
    }
}
