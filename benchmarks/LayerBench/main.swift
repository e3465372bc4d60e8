// layer-bench: generates the deterministic input trees that benchmarks/run
// times kiln and its peers on; not part of kiln.
import Glibc

struct BenchError: Error, CustomStringConvertible {
    var description: String
}

/// splitmix64: a fixed, seedable sequence, so every tree is the same bytes
/// on every run.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// Writes generated files with plain system calls.
enum Disk {
    static func makeDirectories(_ path: String) throws {
        var partial = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            partial += "/" + component
            if mkdir(partial, 0o755) != 0 && errno != EEXIST { throw BenchError(description: "mkdir \(partial): \(errno)") }
        }
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw BenchError(description: "open \(path): \(errno)") }
        defer { close(descriptor) }
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                guard written > 0 else { throw BenchError(description: "write \(path): \(errno)") }
                offset += written
            }
        }
    }
}

/// Content that compresses the way real image content does.
enum Content {
    static let keywords = [
        "func", "let", "var", "return", "if", "else", "for", "in", "struct", "class", "import", "static", "self",
        "guard", "throw", "try", "switch", "case", "default", "while", "public", "private", "init", "int", "void",
        "const", "char", "unsigned", "def", "None", "True", "False", "null", "new", "this", "async", "await",
    ].map { Array($0.utf8) }
    static let punctuation = ["(", ")", " {", "}", ".", ", ", " = ", " + ", "[", "]", ": ", " -> ", "\"", "; ", " == ", " && ", "->", "::"]
        .map { Array($0.utf8) }

    /// ~1500 pseudo-words from syllables: a vocabulary as large as a real
    /// code base's, so matches are as frequent (and zlib as fast) as there.
    static let vocabulary: [[UInt8]] = {
        let syllables = ["ka", "lo", "mi", "ne", "ta", "ri", "su", "po", "de", "fa", "gu", "hi", "jo", "be", "ze", "wa",
                         "cor", "sta", "tion", "buf", "fer", "val", "ue", "str", "ing", "arr", "ay", "map", "ped", "er",
                         "con", "fig", "par", "se", "ser", "read", "writ", "op", "en", "clo", "sed", "ind", "ex", "lay"]
        var random = Random(state: 5)
        return (0..<1500).map { _ in
            var word: [UInt8] = []
            for _ in 0..<(1 + random.below(3)) { word += syllables[random.below(syllables.count)].utf8 }
            return word
        }
    }()

    /// A word with a Zipf-like skew: a few are common, most are rare.
    static func word(_ random: inout Random) -> [UInt8] {
        let rank = min(random.below(vocabulary.count), random.below(vocabulary.count), random.below(vocabulary.count), random.below(vocabulary.count))
        return vocabulary[rank]
    }

    /// Source-like text: indented statements of keywords, camelCase
    /// identifiers, literals and punctuation, and comment lines.
    static func text(_ size: Int, _ random: inout Random) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size + 256)
        while bytes.count < size {
            bytes += [UInt8](repeating: 0x20, count: 4 * random.below(5))
            if random.below(6) == 0 {
                bytes += "// ".utf8
                for _ in 0..<(3 + random.below(10)) { bytes += word(&random) + [0x20] }
            } else {
                for _ in 0..<(2 + random.below(7)) {
                    switch random.below(5) {
                    case 0: bytes += keywords[random.below(keywords.count)]
                    case 1: bytes += String(random.below(random.below(2) == 0 ? 10 : 100_000)).utf8
                    default:
                        bytes += word(&random)
                        if random.below(2) == 0 {
                            var next = word(&random)
                            if next[0] >= 0x61 { next[0] -= 0x20 }
                            bytes += next
                        }
                    }
                    bytes += punctuation[random.below(punctuation.count)]
                }
            }
            bytes.append(0x0A)
        }
        return Array(bytes.prefix(size))
    }

    /// Machine-code-like bytes: a skewed set of 512 opcode patterns with
    /// operands of varying width, string tables and zero padding.
    static let opcodes: [[UInt8]] = {
        var seed = Random(state: 42)
        return (0..<512).map { _ in (0..<(1 + seed.below(5))).map { _ in UInt8(truncatingIfNeeded: seed.next()) } }
    }()

    static func binary(_ size: Int, _ random: inout Random) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size + 64)
        while bytes.count < size {
            switch random.below(20) {
            case 0..<16:
                for _ in 0..<64 {
                    bytes += opcodes[min(random.below(512), random.below(512))]
                    switch random.below(6) {
                    case 0, 1: bytes.append(UInt8(truncatingIfNeeded: random.next()))
                    case 2: bytes += [UInt8(truncatingIfNeeded: random.next()), UInt8(truncatingIfNeeded: random.next() & 0x3f), 0, 0]
                    case 3: bytes.append(UInt8(random.below(16)))
                    default: break
                    }
                }
            case 16..<19:
                for _ in 0..<16 {
                    bytes += word(&random) + [0x5F] + word(&random)
                    bytes.append(0)
                }
            default:
                bytes += [UInt8](repeating: 0, count: 16 * random.below(64))
            }
        }
        return Array(bytes.prefix(size))
    }

    /// Incompressible bytes (media, already-compressed archives).
    static func noise(_ size: Int, _ random: inout Random) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset + 8 <= raw.count {
                raw.storeBytes(of: random.next(), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
        }
        return bytes
    }

    /// JSON/CSV-like records.
    static func records(_ size: Int, _ random: inout Random) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size + 128)
        while bytes.count < size {
            bytes += "{\"id\": \(random.below(1_000_000)), \"name\": \"".utf8
            bytes += word(&random)
            bytes += "\", \"score\": \(random.below(100)).\(random.below(100)), \"tags\": [\"".utf8
            bytes += word(&random)
            bytes += "\"]}\n".utf8
        }
        return Array(bytes.prefix(size))
    }
}

/// The ~300 MiB, ~20k-entry tree: sources, binaries, incompressible
/// assets, data files, symlinks, hardlinks and a deep path.
func generateTree(at root: String) throws {
    var random = Random(state: 2024)
    var files = 0
    var bytes = 0
    func file(_ path: String, _ content: [UInt8], mode: mode_t = 0o644) throws {
        try Disk.write(content, to: root + "/" + path, mode: mode)
        files += 1
        bytes += content.count
    }
    for package in 0..<40 {
        for module in 0..<20 {
            let directory = "src/pkg\(package)/mod\(module)"
            try Disk.makeDirectories(root + "/" + directory)
            for index in 0..<20 {
                let size = 300 + random.below(4) * random.below(3000) + random.below(1200)
                let ext = ["swift", "c", "h", "py"][random.below(4)]
                try file("\(directory)/file\(index).\(ext)", Content.text(size, &random))
            }
        }
    }
    try Disk.makeDirectories(root + "/usr/lib/kiln")
    try Disk.makeDirectories(root + "/usr/bin")
    for index in 0..<360 {
        let size = 40_000 + random.below(600_000)
        try file(index < 60 ? "usr/bin/tool\(index)" : "usr/lib/kiln/lib\(index).so", Content.binary(size, &random), mode: 0o755)
    }
    try Disk.makeDirectories(root + "/assets/media")
    for index in 0..<70 {
        try file("assets/media/blob\(index).bin", Content.noise(400_000 + random.below(2_000_000), &random))
    }
    for group in 0..<40 {
        try Disk.makeDirectories(root + "/share/data/g\(group)")
        for index in 0..<50 {
            try file("share/data/g\(group)/records\(index).json", Content.records(2_000 + random.below(36_000), &random))
        }
    }
    var deep = "deep"
    for level in 0..<30 {
        deep += "/level-\(level)-" + String(repeating: "d", count: 30)
        try Disk.makeDirectories(root + "/" + deep)
        try file(deep + "/note.txt", Content.text(200, &random))
    }
    try Disk.makeDirectories(root + "/links")
    for index in 0..<1500 {
        let target = "../src/pkg\(index % 40)/mod\(index % 20)/file\(index % 20).swift"
        guard symlink(target, root + "/links/link\(index)") == 0 else { throw BenchError(description: "symlink: \(errno)") }
    }
    guard symlink("/" + deep, root + "/links/long-target") == 0 else { throw BenchError(description: "symlink: \(errno)") }
    try Disk.makeDirectories(root + "/hard")
    for index in 0..<100 {
        guard link(root + "/usr/lib/kiln/lib\(100 + index).so", root + "/hard/lib\(index).so") == 0 else {
            throw BenchError(description: "link: \(errno)")
        }
    }
    print("generated \(files) files, \(bytes >> 20) MiB, 1501 symlinks, 100 hardlinks under \(root)")
}

/// `count` text files of `size` bytes, 1000 per directory.
func generateSmall(at root: String, count: Int, size: Int) throws {
    var random = Random(state: 7)
    for index in 0..<count {
        let directory = root + "/d\(index / 1000)"
        if index % 1000 == 0 { try Disk.makeDirectories(directory) }
        try Disk.write(Content.text(size, &random), to: directory + "/f\(index)")
    }
    print("generated \(count) files of \(size) bytes under \(root)")
}

/// One file of `megabytes` MiB: text, binary and noise sections in turn.
func generateBig(at path: String, megabytes: Int) throws {
    var random = Random(state: 9)
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { throw BenchError(description: "open \(path): \(errno)") }
    defer { close(descriptor) }
    for chunk in 0..<megabytes {
        let content: [UInt8]
        switch chunk % 3 {
        case 0: content = Content.text(1 << 20, &random)
        case 1: content = Content.binary(1 << 20, &random)
        default: content = Content.noise(1 << 20, &random)
        }
        guard content.withUnsafeBytes({ Glibc.write(descriptor, $0.baseAddress!, $0.count) }) == content.count else {
            throw BenchError(description: "write \(path): \(errno)")
        }
    }
    print("generated \(path), \(megabytes) MiB")
}

/// `count` ELF executables and shared objects for the host's machine
/// (x86-64 or AArch64, 64-bit LE): a valid 64-byte ELF header, then
/// binary-like bytes, 4 KiB to 132 KiB each, 500 per directory, plus one
/// text file per ten binaries: what the ELF check reads as it streams.
func generateELF(at root: String, count: Int) throws {
    var random = Random(state: 64)
    #if arch(arm64)
    let machine: UInt8 = 183
    #else
    let machine: UInt8 = 62
    #endif
    var header = [UInt8](repeating: 0, count: 64)
    header[0..<7] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1]
    header[16] = 3  // ET_DYN
    header[18] = machine
    header[20] = 1  // e_version
    header[52] = 64  // e_ehsize
    var bytes = 0
    for index in 0..<count {
        let directory = root + "/lib\(index / 500)"
        if index % 500 == 0 { try Disk.makeDirectories(directory) }
        let size = 4096 + random.below(128 * 1024)
        let content = header + Content.binary(size - header.count, &random)
        try Disk.write(content, to: directory + "/lib\(index).so", mode: 0o755)
        if index % 10 == 0 { try Disk.write(Content.text(2000, &random), to: directory + "/notes\(index).txt") }
        bytes += content.count
    }
    print("generated \(count) ELF files, \(bytes >> 20) MiB under \(root)")
}

let usage = """
    usage: layer-bench generate DIR
           layer-bench small DIR COUNT SIZE
           layer-bench big FILE MIB
           layer-bench elf DIR COUNT
    """

do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    switch (arguments.first, arguments.count) {
    case ("generate", 2):
        try generateTree(at: arguments[1])
    case ("small", 4):
        guard let count = Int(arguments[2]), let size = Int(arguments[3]) else { throw BenchError(description: usage) }
        try generateSmall(at: arguments[1], count: count, size: size)
    case ("elf", 3):
        guard let count = Int(arguments[2]) else { throw BenchError(description: usage) }
        try generateELF(at: arguments[1], count: count)
    case ("big", 3):
        guard let megabytes = Int(arguments[2]) else { throw BenchError(description: usage) }
        try generateBig(at: arguments[1], megabytes: megabytes)
    default:
        throw BenchError(description: usage)
    }
} catch {
    FileHandleless.standardError("layer-bench: \(error)\n")
    exit(1)
}

enum FileHandleless {
    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = Glibc.write(2, &bytes, bytes.count)
    }
}
