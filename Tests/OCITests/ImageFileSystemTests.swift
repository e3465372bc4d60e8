import Archive
import OCI
import Testing
import TestSupport

/// The image file-system reader against the OCI image spec's changeset
/// rules (`layer.md`), on layers written by hand.
@Suite(.requires(.tools("python3")))
struct ImageFileSystemTests {
    /// The file system of `layers`, one line per entry: `path kind mode uid:gid`.
    static func apply(_ layers: [[HandLayout.Member]]) throws -> (lines: [String], system: ImageFileSystem) {
        let scratch = try TemporaryDirectory(prefix: "kiln-imagefs")
        defer { scratch.remove() }
        try HandLayout.write(layers, to: scratch.path("image"))
        let image = try LayoutReader(directory: scratch.path("image")).image(ref: nil, platform: nil)
        let system = ImageFileSystem()
        for layer in image.layers { try system.apply(layer) }
        let lines = system.entries().map { path, node in
            let kind = switch node.kind {
            case .directory: "dir"
            case .regular: "file(\(node.size))"
            case .symlink(let target): "symlink(\(target))"
            case .characterDevice, .blockDevice, .hardlink: "other"
            case .fifo: "fifo"
            }
            return "\(path) \(kind) \(String(node.mode, radix: 8)) \(node.uid):\(node.gid)"
        }
        return (lines, system)
    }

    @Test func theSpecsOpaqueExampleWhateverTheMarkersPlace() throws {
        let base: [HandLayout.Member] = [.dir("a"), .dir("a/b"), .dir("a/b/c"), .file("a/b/c/bar", "bar")]
        let expected = ["a dir 755 0:0", "a/b dir 755 0:0", "a/b/c dir 755 0:0", "a/b/c/foo file(3) 644 0:0"]
        // "a/.wh..wh..opq is applied first … regardless of the ordering".
        let first = try Self.apply([base, [.dir("a"), .marker("a/.wh..wh..opq"), .dir("a/b"), .dir("a/b/c"), .file("a/b/c/foo", "foo")]])
        let last = try Self.apply([base, [.dir("a"), .dir("a/b"), .dir("a/b/c"), .file("a/b/c/foo", "foo"), .marker("a/.wh..wh..opq")]])
        #expect(first.lines == expected)
        #expect(last.lines == expected)
    }

    @Test func whiteoutsApplyToLowerLayersOnly() throws {
        let result = try Self.apply([
            [.dir("etc"), .file("etc/lower", "l"), .dir("etc/tree"), .file("etc/tree/x", "x")],
            [.file("etc/same", "s"), .marker("etc/.wh.same"), .marker("etc/.wh.lower"), .marker("etc/.wh.tree"), .marker("etc/.wh.never-there")],
        ])
        #expect(result.lines == ["etc dir 755 0:0", "etc/same file(1) 644 0:0"])
    }

    @Test func anEntryReplacesWhatIsThereButADirectoryOverADirectoryKeepsItsContent() throws {
        let result = try Self.apply([
            [.dir("d"), .file("d/x", "x"), .dir("gone"), .file("gone/y", "y"), .file("f", "f")],
            [.dir("d", mode: 0o700, uid: 5, gid: 6), .file("gone", "now a file"), .dir("f")],
        ])
        #expect(result.lines == ["d dir 700 5:6", "d/x file(1) 644 0:0", "f dir 755 0:0", "gone file(10) 644 0:0"])
    }

    @Test func symlinksAmongParentsAreFollowedInsideTheRoot() throws {
        let result = try Self.apply([
            [.dir("usr"), .dir("usr/bin"), .symlink("bin", to: "usr/bin"), .symlink("up", to: "../../.."), .symlink("abs", to: "/usr")],
            [.file("bin/tool", "t"), .file("up/top", "t"), .file("abs/share", "s")],
        ])
        #expect(result.lines == [
            "abs symlink(/usr) 777 0:0", "bin symlink(usr/bin) 777 0:0", "top file(1) 644 0:0", "up symlink(../../..) 777 0:0",
            "usr dir 755 0:0", "usr/bin dir 755 0:0", "usr/bin/tool file(1) 644 0:0", "usr/share file(1) 644 0:0",
        ])
        #expect(try result.system.resolve("bin/tool") == "usr/bin/tool")
        #expect(result.system.refused.isEmpty)
    }

    @Test func hostileMembersAreRefusedByName() throws {
        let result = try Self.apply([[.file("../x", "x"), .hardlink("h", to: "/etc/shadow"), .marker("d/.wh.."), .file(".wh.x/y")]])
        #expect(result.system.refused.map(\.path) == ["../x", "h", "d/.wh..", ".wh.x/y"])
        #expect(result.system.refused.map(\.reason) == [.escapes, .hardlinkTarget("etc/shadow"), .badWhiteout, .belowWhiteout])
        #expect(result.lines == [])
    }
}
