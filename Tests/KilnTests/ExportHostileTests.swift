import Foundation
import Testing
import TestSupport

/// Hostile layers through `kiln export`: whatever a layer holds, nothing
/// is written outside the target. Each case is a layout written by hand;
/// a marker file beside the target must stay as it was, and a member that
/// is refused must be named in the error (and then nothing is left
/// behind), while one that only looks hostile (an absolute path, a write
/// through a symlink) lands inside the image, where umoci puts it too.
@Suite(.requires(.root, .tools("umoci", "python3")))
struct ExportHostileTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var layers: [[HandLayout.Member]]
        /// Lines the error must hold, each naming a refused member; empty
        /// when the export succeeds.
        var refused: [String]
        /// Paths (in the rootfs) the member lands at instead, when it succeeds.
        var inside: [String] = []
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a ../ path", layers: [[.file("../outside/marker", "pwned")]],
             refused: ["../outside/marker in layer sha256:", ": its path leads outside the image's root"]),
        Case(name: "a ../ in the middle", layers: [[.dir("a"), .file("a/../../outside/marker", "pwned")]],
             refused: ["a/../../outside/marker in layer"]),
        Case(name: "an absolute path", layers: [[.file("/outside/marker", "inside")]],
             refused: [], inside: ["outside/marker"]),
        Case(name: "a relative symlink out, then a file through it",
             layers: [[.symlink("evil", to: "../../../../../../outside"), .file("evil/marker", "inside")]],
             refused: [], inside: ["outside/marker"]),
        Case(name: "an absolute symlink to /, then a file through it (next layer)",
             layers: [[.symlink("evil", to: "/")], [.dir("evil/outside"), .file("evil/outside/marker", "inside")]],
             refused: [], inside: ["outside/marker"]),
        Case(name: "a hardlink out of the root", layers: [[.hardlink("link", to: "../outside/marker")]],
             refused: ["link in layer", "its path leads outside the image's root"]),
        Case(name: "a hardlink to a host file", layers: [[.hardlink("passwd", to: "/etc/passwd")]],
             refused: ["passwd in layer", "a hardlink to /etc/passwd, which the image does not have as a file"]),
        Case(name: "a hardlink through a symlink out",
             layers: [[.symlink("evil", to: "../outside"), .hardlink("link", to: "evil/marker")]],
             refused: ["link in layer", "a hardlink to /outside/marker, which the image does not have as a file"]),
        Case(name: "a hardlink to a directory", layers: [[.dir("d"), .hardlink("link", to: "d")]],
             refused: ["link in layer", "a hardlink to /d, which the image does not have as a file"]),
        Case(name: "device nodes", layers: [[.device("dev/mem", major: 1, minor: 1), .device("dev/sda", type: "block", major: 8, minor: 0)]],
             refused: ["dev/mem in layer", "a device node (1:1); kiln export creates none", "dev/sda in layer", "a device node (8:0)"]),
        Case(name: "whiteouts naming . and ..",
             layers: [[.dir("etc"), .file("etc/x")], [.marker("etc/.wh.."), .marker("etc/.wh..."), .marker(".wh."), .marker("etc/.wh..wh.plnk")]],
             refused: ["etc/.wh.. in layer", "etc/.wh... in layer", ".wh. in layer", "etc/.wh..wh.plnk in layer", "a whiteout that names no entry"]),
        Case(name: "whiteouts and opaque markers through a symlink out",
             layers: [[.symlink("evil", to: "../outside")], [.marker("evil/.wh.marker"), .marker("evil/.wh..wh..opq")]],
             refused: []),
        Case(name: "a symlink loop", layers: [[.symlink("a", to: "b"), .symlink("b", to: "a"), .file("a/x", "x")]],
             refused: ["a/x in layer", "too many symlinks on its way (a loop)"]),
        Case(name: "a file below a file", layers: [[.file("f", "f"), .file("f/x", "x")]],
             refused: ["f/x in layer", "it sits below /f, which is not a directory"]),
    ]

    /// Writes the case's layout and the marker beside the target.
    static func prepare(_ testCase: Case) throws -> TemporaryDirectory {
        let scratch = try TemporaryDirectory(prefix: "kiln-export-hostile")
        try HandLayout.write(testCase.layers, to: scratch.path("image"))
        try scratch.write("outside/marker", "untouched\n")
        try scratch.directory("out")
        return scratch
    }

    static func checkOutsideUntouched(_ scratch: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try Files.entries(scratch.path("outside")) == ["marker"], sourceLocation: sourceLocation)
        #expect(try String(contentsOfFile: scratch.path("outside/marker"), encoding: .utf8) == "untouched\n", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/outside/marker"), sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/passwd"), sourceLocation: sourceLocation)
    }

    @Test(arguments: cases)
    func rootfsNeverWritesOutside(_ testCase: Case) throws {
        let scratch = try Self.prepare(testCase)
        defer { scratch.remove() }
        let result = try Tools.kiln(["export", "image", "--rootfs", "out/rootfs"], in: scratch.path)
        #expect(result.signal == nil)
        try Self.checkOutsideUntouched(scratch)
        if testCase.refused.isEmpty {
            #expect(result.status == 0, "\(result.stderr)")
            for path in testCase.inside {
                #expect(FileManager.default.fileExists(atPath: scratch.path("out/rootfs/" + path)), "\(path) is not inside the rootfs")
            }
            // umoci resolves the same paths inside its rootfs.
            try Tools.run(["umoci", "unpack", "--image", scratch.path("image") + ":latest", scratch.path("bundle")])
            #expect(try Tree.listing(scratch.path("out/rootfs")) == (try Tree.listing(scratch.path("bundle/rootfs"))))
        } else {
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("kiln: error: refused "))
            for text in testCase.refused { #expect(result.stderr.contains(text), "\(text) is not in: \(result.stderr)") }
            // Nothing is left behind, not even the staging directory.
            #expect(try Files.entries(scratch.path("out")) == [])
        }
    }

    @Test(arguments: cases.filter { !$0.refused.isEmpty })
    func tarRefusesTheSameMembers(_ testCase: Case) throws {
        let scratch = try Self.prepare(testCase)
        defer { scratch.remove() }
        let result = try Tools.kiln(["export", "image", "--tar", "out/flat.tar"], in: scratch.path)
        try Self.checkOutsideUntouched(scratch)
        #expect(result.status == 1)
        for text in testCase.refused { #expect(result.stderr.contains(text)) }
        #expect(try Files.entries(scratch.path("out")) == [])
    }

    @Test func aDeclaredSizeLargerThanTheStreamIsAnErrorNotAnAllocation() throws {
        let scratch = try Self.prepare(Case(name: "", layers: [[.file("small", "s"), .lying("huge", declaring: 1 << 40)]], refused: []))
        defer { scratch.remove() }
        let result = try Tools.kiln(["export", "image", "--rootfs", "out/rootfs"], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("huge"), "\(result.stderr)")
        try Self.checkOutsideUntouched(scratch)
        #expect(try Files.entries(scratch.path("out")) == [])
    }
}
