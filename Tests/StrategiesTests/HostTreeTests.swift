import Foundation
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport

@Suite struct HostTreeTests {
    /// Every entry a walk yields, in walk order.
    static func walk(_ host: String, at image: String, _ options: HostTreeOptions) throws -> [LayerEntry] {
        var entries: [LayerEntry] = []
        try HostTree.walk(host, at: image, options: options) { entries.append($0) }
        return entries
    }

    /// A host file's entry kind as listed: its path, size and identity
    /// (device and inode, which the tar writer checks when it reads).
    static func hostFile(_ path: String, _ size: Int) -> LayerEntry.Kind {
        var info = stat()
        let identity = stat(path, &info) == 0 ? FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
        return .regular(.file(path: path, size: Int64(size), identity: identity))
    }

    @Test func normalizedModesKeepOnlyTheOwnerExecuteBit() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.shell("""
            mkdir -p d/private && chmod 0700 d/private
            printf a > d/secret && chmod 0600 d/secret
            printf bb > d/tool && chmod 0700 d/tool
            printf ccc > d/setuid && chmod 4754 d/setuid
            printf dddd > d/group-exec && chmod 0674 d/group-exec
            chmod 0750 d
            """, in: root)
        let entries = try Self.walk(root + "/d", at: "opt/d", HostTreeOptions(modes: .normalized))
        let d = root + "/d"
        #expect(entries == [
            LayerEntry(path: "opt/d", kind: .directory, mode: 0o755),
            LayerEntry(path: "opt/d/group-exec", kind: Self.hostFile(d + "/group-exec", 4), mode: 0o644),
            LayerEntry(path: "opt/d/private", kind: .directory, mode: 0o755),
            LayerEntry(path: "opt/d/secret", kind: Self.hostFile(d + "/secret", 1), mode: 0o644),
            LayerEntry(path: "opt/d/setuid", kind: Self.hostFile(d + "/setuid", 3), mode: 0o755),
            LayerEntry(path: "opt/d/tool", kind: Self.hostFile(d + "/tool", 2), mode: 0o755),
        ])
    }

    @Test func preservedModesKeepAllPermissionBitsAndTheOwnerIsApplied() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.shell("""
            mkdir -p out/tmp && chmod 1777 out/tmp
            printf x > out/su && chmod 4711 out/su
            printf y > out/ro && chmod 0400 out/ro
            ln -s su out/link
            chmod 0701 out
            """, in: root)
        let owner = Owner(uid: 65532, gid: 1000)
        let entries = try Self.walk(root + "/out", at: "", HostTreeOptions(modes: .preserved, owner: owner))
        let out = root + "/out"
        // The root of a layer yields no entry of its own.
        #expect(entries == [
            LayerEntry(path: "link", kind: .symlink(target: "su"), mode: 0o777, uid: 65532, gid: 1000),
            LayerEntry(path: "ro", kind: Self.hostFile(out + "/ro", 1), mode: 0o400, uid: 65532, gid: 1000),
            LayerEntry(path: "su", kind: Self.hostFile(out + "/su", 1), mode: 0o4711, uid: 65532, gid: 1000),
            LayerEntry(path: "tmp", kind: .directory, mode: 0o1777, uid: 65532, gid: 1000),
        ])
    }

    @Test func walkIsInByteOrderWhateverTheCreationOrder() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        // Created in reverse so readdir order (hash order on ext4, creation
        // order on tmpfs) differs from byte order.
        try Tools.shell("""
            mkdir t && cd t
            for name in z b.txt a-b a/y a/x B 'ä'; do
              case $name in */*) mkdir -p "${name%/*}";; esac
              printf "$name" > "$name"
            done
            """, in: root)
        let paths = try Self.walk(root + "/t", at: "t", HostTreeOptions(modes: .normalized)).map(\.path)
        // A directory's names in byte order ("B" < "a" < "a-b" < "b.txt" <
        // "z" < "ä"), then its subdirectories.
        #expect(paths == ["t", "t/B", "t/a", "t/a-b", "t/b.txt", "t/z", "t/ä", "t/a/x", "t/a/y"])
    }

    @Test func symlinksAreStoredVerbatimAndOnlyTheTopLevelIsFollowed() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.shell("""
            mkdir -p real/sub && printf hi > real/sub/f
            ln -s sub real/dirlink
            ln -s ../../outside real/escape
            ln -s real top
            """, in: root)
        let followed = try Self.walk(root + "/top", at: "srv", HostTreeOptions(modes: .normalized, followTopLevelSymlink: true))
        #expect(followed.map(\.path) == ["srv", "srv/dirlink", "srv/escape", "srv/sub", "srv/sub/f"])
        #expect(followed[0].kind == .directory)
        #expect(followed[1].kind == .symlink(target: "sub"))
        #expect(followed[2].kind == .symlink(target: "../../outside"))
        #expect(followed[4].kind == Self.hostFile(root + "/top/sub/f", 2))
        let kept = try Self.walk(root + "/top", at: "srv", HostTreeOptions(modes: .normalized))
        #expect(kept == [LayerEntry(path: "srv", kind: .symlink(target: "real"), mode: 0o777)])
    }

    @Test func hardlinksWithinTheWalkBecomeTarHardlinks() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.shell("mkdir -p h/b && printf same > h/b/one && ln h/b/one h/a-two && ln h/b/one h/c", in: root)
        var tree = LayerTree()
        try tree.addHost(root + "/h", at: "h", options: HostTreeOptions(modes: .normalized))
        // The walk meets h/a-two first; the stream meets h/a-two first too
        // ("-" < "/"), so it holds the content and the others link to it.
        let sorted = try tree.sortedEntries()
        #expect(sorted.map(\.path) == ["h", "h/a-two", "h/b", "h/b/one", "h/c"])
        #expect(sorted[1].kind == Self.hostFile(root + "/h/a-two", 4))
        #expect(sorted[3].kind == .hardlink(target: "h/a-two"))
        #expect(sorted[4].kind == .hardlink(target: "h/a-two"))
    }

    @Test func specialFilesAreRefusedByName() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.shell("mkdir f s c && mkfifo f/pipe && mknod c/null c 1 3", in: root)
        try Tools.python("import socket; socket.socket(socket.AF_UNIX).bind('s/sock')", in: root)
        for (directory, name, kind) in [("f", "pipe", "a FIFO"), ("s", "sock", "a socket"), ("c", "null", "a character device")] {
            let error = try #require(throws: HostTreeError.self) {
                _ = try Self.walk(root + "/" + directory, at: "x", HostTreeOptions(modes: .preserved))
            }
            #expect(error.description == "\(root)/\(directory)/\(name) is \(kind); layers hold only regular files, directories and symlinks")
        }
    }

    @Test func missingAndDanglingTopLevelPaths() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        let missing = try #require(throws: HostTreeError.self) {
            _ = try Self.walk(root + "/nope", at: "x", HostTreeOptions(modes: .normalized))
        }
        #expect(missing.description == "host path \(root)/nope does not exist")
        try FileManager.default.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: "nowhere")
        let dangling = try #require(throws: HostTreeError.self) {
            _ = try Self.walk(root + "/dangling", at: "x", HostTreeOptions(modes: .normalized, followTopLevelSymlink: true))
        }
        #expect(dangling.description == "host path \(root)/dangling is a symlink to a path that does not exist")
        // Not followed, a dangling symlink is just a symlink.
        #expect(try Self.walk(root + "/dangling", at: "x", HostTreeOptions(modes: .normalized)) == [
            LayerEntry(path: "x", kind: .symlink(target: "nowhere"), mode: 0o777),
        ])
    }

    @Test func nonUTF8NamesAreRefused() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.python("import os; os.mkdir('d'); open(b'd/bad\\xff', 'w').close()", in: root)
        let error = try #require(throws: HostTreeError.self) {
            _ = try Self.walk(root + "/d", at: "d", HostTreeOptions(modes: .normalized))
        }
        #expect(error.description == "\(root)/d/bad\u{FFFD}: file names and symlink targets must be valid UTF-8")
    }

    @Test func layerRootMustBeADirectoryAndImagePathsMustBeNormalized() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        #expect(FileManager.default.createFile(atPath: root + "/file", contents: Data("x".utf8)))
        let notDirectory = try #require(throws: HostTreeError.self) {
            _ = try Self.walk(root + "/file", at: "", HostTreeOptions(modes: .preserved))
        }
        #expect(notDirectory.description == "\(root)/file must be a directory to become the root of a layer")
        let invalid = try #require(throws: HostTreeError.self) {
            _ = try Self.walk(root + "/file", at: "/etc/x", HostTreeOptions(modes: .preserved))
        }
        #expect(invalid.description == "invalid image path \"/etc/x\"")
    }

    @Test func unreadableAndVanishedMessagesCarryThePathAndReason() {
        // A vanishing file is a race, and root reads any directory, so
        // these are the messages the walker builds from what the system
        // reports; KilnTests' BuildFailureTests meets an unreadable
        // directory for real, through kiln run as an unprivileged user.
        #expect(HostTreeError.unreadableDirectory("/src/locked", errno: EACCES).description == "cannot read directory /src/locked: Permission denied")
        #expect(HostTreeError.unreadable("/src/x", errno: EIO).description == "cannot read /src/x: Input/output error")
        #expect(HostTreeError.vanished("/src/tmp.123").description == "host path /src/tmp.123 vanished while its directory was being read")
    }

    @Test func addHostReportsPathsAlreadyInTheTree() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        try Tools.shell("mkdir -p d && printf x > d/f", in: root)
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "srv/f", kind: .directory, mode: 0o755))
        let error = try #require(throws: LayerTreeError.self) {
            try tree.addHost(root + "/d", at: "srv", options: HostTreeOptions(modes: .normalized))
        }
        #expect(error.description == "two entries produce the image path /srv/f")
    }
}
