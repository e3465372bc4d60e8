import Glibc
import Foundation
import Archive
import KilnCore
import Testing
import TestSupport

@Suite struct LayerWriterTests {
    static let created = Timestamp(secondsSinceEpoch: 1_704_067_200) // 2024-01-01T00:00:00Z

    /// A tree with every entry kind and a multi-block host file.
    static func sampleTree(in directory: String) throws -> LayerTree {
        let payload = EngineFixtures.mixedBytes(count: 1_500_000, seed: 11)
        try Files.write(payload, to: directory + "/payload")
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "etc/motd", kind: .regular(.bytes(Array("hello\n".utf8))), mode: 0o644))
        try tree.insert(LayerEntry(path: "opt/app/data.bin", kind: .regular(.file(path: directory + "/payload", size: Int64(payload.count))), mode: 0o755))
        try tree.insert(LayerEntry(path: "opt/app/same.bin", kind: .hardlink(target: "opt/app/data.bin"), mode: 0o755))
        try tree.insert(LayerEntry(path: "usr/bin/app", kind: .symlink(target: "/opt/app/data.bin"), mode: 0o777))
        try tree.insert(LayerEntry(path: "var/lib/app", kind: .directory, mode: 0o750, uid: 65532, gid: 65532))
        return tree
    }

    @Test(.requires(.tools("tar", "gzip")))
    func gzipLayerHasBothDigestsAndListsInOrder() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let writer = LayerWriter(compression: .gzip, modificationTime: Self.created, workers: LayerWorkers(count: 2))
        let blob = try writer.write(try Self.sampleTree(in: directory), to: directory + "/blob")
        let bytes = try Files.bytes(directory + "/blob")
        let tar = try Tools.output(["gzip", "-dc"], stdin: bytes)
        #expect(blob.diffID.description == (try Tools.sha256(tar)))
        #expect(blob.digest.description == (try Tools.sha256(bytes)))
        #expect(blob.size == Int64(bytes.count) && blob.uncompressedSize == Int64(tar.count))
        #expect(blob.compression == .gzip)
        // Entries plus the synthesized parents etc, opt, opt/app, usr, usr/bin, var, var/lib.
        #expect(blob.entryCount == 12)
        let listing = String(decoding: try Tools.output(["env", "TZ=UTC", "tar", "--numeric-owner", "-tvzf", directory + "/blob"]), as: UTF8.self)
        #expect(listing == """
            drwxr-xr-x 0/0               0 2024-01-01 00:00 etc
            -rw-r--r-- 0/0               6 2024-01-01 00:00 etc/motd
            drwxr-xr-x 0/0               0 2024-01-01 00:00 opt
            drwxr-xr-x 0/0               0 2024-01-01 00:00 opt/app
            -rwxr-xr-x 0/0         1500000 2024-01-01 00:00 opt/app/data.bin
            hrwxr-xr-x 0/0               0 2024-01-01 00:00 opt/app/same.bin link to opt/app/data.bin
            drwxr-xr-x 0/0               0 2024-01-01 00:00 usr
            drwxr-xr-x 0/0               0 2024-01-01 00:00 usr/bin
            lrwxrwxrwx 0/0               0 2024-01-01 00:00 usr/bin/app -> /opt/app/data.bin
            drwxr-xr-x 0/0               0 2024-01-01 00:00 var
            drwxr-xr-x 0/0               0 2024-01-01 00:00 var/lib
            drwxr-x--- 65532/65532       0 2024-01-01 00:00 var/lib/app

            """)
    }

    @Test(arguments: Compression.allCases)
    func bytesDoNotDependOnTheNumberOfWorkers(compression: Compression) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let tree = try Self.sampleTree(in: directory)
        var blobs: [[UInt8]] = []
        for jobs in [1, 2, 8] {
            let writer = LayerWriter(compression: compression, modificationTime: Self.created, workers: LayerWorkers(count: jobs))
            _ = try writer.write(tree, to: directory + "/blob\(jobs)")
            blobs.append(try Files.bytes(directory + "/blob\(jobs)"))
        }
        #expect(blobs[0] == blobs[1] && blobs[1] == blobs[2])
    }

    @Test(arguments: [Compression.gzip, .zstd])
    func layersWrittenAtOnceOnSharedWorkersEqualLayersWrittenAlone(compression: Compression) async throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        var trees: [LayerTree] = []
        for seed in 1...3 {
            let bytes = EngineFixtures.mixedBytes(count: 900_000 * seed, seed: UInt64(seed))
            try Files.write(bytes, to: directory + "/content\(seed)")
            var tree = LayerTree()
            try tree.insert(LayerEntry(path: "data/\(seed)", kind: .regular(.file(path: directory + "/content\(seed)", size: Int64(bytes.count))), mode: 0o644))
            trees.append(tree)
        }
        let shared = LayerWriter(compression: compression, modificationTime: Self.created, workers: LayerWorkers(count: 2))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, tree) in trees.enumerated() {
                group.addTask { _ = try await shared.write(tree, to: directory + "/together\(index)") }
            }
            try await group.waitForAll()
        }
        for (index, tree) in trees.enumerated() {
            let alone = LayerWriter(compression: compression, modificationTime: Self.created, workers: LayerWorkers(count: 1))
            _ = try await alone.write(tree, to: directory + "/alone\(index)")
            #expect(try Files.bytes(directory + "/together\(index)") == (try Files.bytes(directory + "/alone\(index)")))
        }
    }

    @Test func failedLayerLeavesNoBlobBehind() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        var tree = try Self.sampleTree(in: directory)
        try tree.insert(LayerEntry(path: "zz/gone", kind: .regular(.file(path: directory + "/gone", size: 5)), mode: 0o644))
        let writer = LayerWriter(compression: .gzip, modificationTime: Self.created, workers: LayerWorkers(count: 2))
        let error = try #require(throws: LayerWriteError.self) { _ = try writer.write(tree, to: directory + "/blob") }
        #expect(error.description == "source file \(directory)/gone (for /zz/gone) no longer exists; it was removed while the layer was being written")
        #expect(!FileManager.default.fileExists(atPath: directory + "/blob"))
    }

    /// A listed file swapped for a symlink to a same-sized file elsewhere,
    /// or for a FIFO, is refused — never followed, never waited on.
    @Test(arguments: ["symlink", "fifo"])
    func aSourceSwappedAfterListingIsRefused(replacement: String) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Files.write(Array("inside".utf8), to: directory + "/zz")
        try Files.write(Array("SECRET".utf8), to: directory + "/outside")
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "zz", kind: .regular(.file(path: directory + "/zz", size: 6)), mode: 0o644))
        unlink(directory + "/zz")
        if replacement == "symlink" {
            try FileManager.default.createSymbolicLink(atPath: directory + "/zz", withDestinationPath: directory + "/outside")
        } else {
            #expect(mkfifo(directory + "/zz", 0o644) == 0)
        }
        let writer = LayerWriter(compression: .none, modificationTime: Self.created, workers: LayerWorkers(count: 1))
        let error = try #require(throws: LayerWriteError.self) { _ = try writer.write(tree, to: directory + "/blob") }
        #expect(error.description == "source file \(directory)/zz (for /zz) is no longer a regular file; it was replaced while the layer was being written")
        #expect(!FileManager.default.fileExists(atPath: directory + "/blob"))
    }

    /// A directory on a listed file's path swapped for a symlink to a
    /// same-named, same-sized file elsewhere: `O_NOFOLLOW` sees only the
    /// last component, so the listed identity (device, inode) is what
    /// catches it.
    @Test func aParentDirectorySwappedForASymlinkIsRefused() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Files.write(Array("inside".utf8), to: directory + "/dir/f")
        try Files.write(Array("SECRET".utf8), to: directory + "/outside/f")
        var info = stat()
        #expect(stat(directory + "/dir/f", &info) == 0)
        let identity = FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "f", kind: .regular(.file(path: directory + "/dir/f", size: 6, identity: identity)), mode: 0o644))
        #expect(rename(directory + "/dir", directory + "/dir-real") == 0)
        try FileManager.default.createSymbolicLink(atPath: directory + "/dir", withDestinationPath: directory + "/outside")
        let writer = LayerWriter(compression: .none, modificationTime: Self.created, workers: LayerWorkers(count: 1))
        let error = try #require(throws: LayerWriteError.self) { _ = try writer.write(tree, to: directory + "/blob") }
        #expect(error == .sourceReplaced(source: directory + "/dir/f", entry: "f"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/blob"))
    }

    @Test func treeErrorsSurfaceBeforeAnythingIsWritten() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "a", kind: .regular(.bytes([])), mode: 0o644))
        try tree.insert(LayerEntry(path: "a/b", kind: .directory, mode: 0o755))
        let writer = LayerWriter(compression: .none, modificationTime: Self.created, workers: LayerWorkers(count: 1))
        let error = try #require(throws: LayerTreeError.self) { _ = try writer.write(tree, to: directory + "/blob") }
        #expect(error.description == "/a/b sits below /a, which is not a directory")
        #expect(!FileManager.default.fileExists(atPath: directory + "/blob"))
    }

    @Test func cancellingTheTaskStopsALongWrite() async throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        // 64 GiB of holes: far longer to stream than the test waits.
        let size: Int64 = 64 << 30
        #expect(FileManager.default.createFile(atPath: directory + "/sparse", contents: nil))
        #expect(truncate(directory + "/sparse", off_t(size)) == 0)
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "big", kind: .regular(.file(path: directory + "/sparse", size: size)), mode: 0o644))
        let writer = LayerWriter(compression: .gzip, modificationTime: Self.created, workers: LayerWorkers(count: 1))
        let started = ProgressLog()
        let task = Task { try await writer.write(tree, to: directory + "/blob") { started.append($0) } }
        while started.values.isEmpty { try await Task.sleep(nanoseconds: 1_000_000) }
        task.cancel()
        let result = await task.result
        #expect(throws: LayerWriteError.cancelled) { try result.get() }
        #expect(!FileManager.default.fileExists(atPath: directory + "/blob"))
    }
}
