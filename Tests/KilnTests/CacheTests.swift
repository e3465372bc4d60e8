import Crypto
import Foundation
@testable import Kiln
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport
import Glibc
import KilnProcess

/// Records what a build tells besides its layers.
final class NoteCollector: BuildObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    func note(_ text: String) {
        lock.withLock { collected.append(text) }
    }

    var notes: [String] { lock.withLock { collected } }
}

/// A plan directory, a cache directory and builds of the plan into them.
struct CacheFixture: Sendable {
    let scratch: TemporaryDirectory
    var cache: String { scratch.path + "/cache" }

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-cache-tests")
        try scratch.write("app/bin/app", "#!/bin/sh\necho app\n", mode: 0o755)
        try scratch.write("app/lib/data.txt", String(repeating: "data line\n", count: 2000))
        try scratch.write("etc/motd", "hello\n")
        try scratch.write("plan.yaml", """
            kiln: 1
            name: example.com/cached
            layers:
              - name: app
                type: files
                files:
                  - { path: /opt/app, source: app }
              - name: config
                type: files
                files:
                  - { path: /etc/motd, source: etc/motd }
                  - { path: /etc/issue, content: "kiln\\n" }

            """)
    }

    func path(_ relative: String) -> String { scratch.path + "/" + relative }

    /// Builds the plan into `output` (under the scratch directory).
    @discardableResult
    func build(
        _ output: String = "out", plan planFile: String = "plan.yaml", useCache: Bool = true, observer: NoteCollector = NoteCollector()
    ) async throws -> BuildReport {
        let options = BuildOptions(output: path(output), jobs: 2, useCache: useCache, cacheDirectory: cache)
        return try await ImageBuilder(plan: try plan(planFile), options: options, observer: observer).build()
    }

    /// The plan at `file` (under the scratch directory), for linux/amd64.
    func plan(_ file: String = "plan.yaml") throws -> ImageBuildPlan {
        try PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64")).load(file: path(file))
    }

    func cachedFlags(_ report: BuildReport) -> [Bool] { report.layers.map(\.cached) }

    /// The cache's blob file for a layer of a report.
    func cachedBlob(_ report: BuildReport, layer: Int) -> String {
        cache + "/layers/blobs/sha256/" + report.layers[layer].digest.hex
    }

    func entries() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache + "/layers/entries").sorted()
    }
}

@Suite struct CacheBuildTests {
    @Test func aRebuildWithNothingChangedReusesEveryLayerWithTheSameBytes() async throws {
        let fixture = try CacheFixture()
        let cold = try await fixture.build("cold")
        #expect(fixture.cachedFlags(cold) == [false, false])
        let warm = try await fixture.build("warm")
        #expect(fixture.cachedFlags(warm) == [true, true])
        #expect(warm.manifestDigest == cold.manifestDigest)
        #expect(warm.layers.map(\.digest) == cold.layers.map(\.digest))
        #expect(warm.layers.map(\.entries) == cold.layers.map(\.entries))
        #expect(warm.layers.map(\.uncompressedSize) == cold.layers.map(\.uncompressedSize))
        let coldIndex = try Data(contentsOf: URL(fileURLWithPath: fixture.path("cold/index.json")))
        let warmIndex = try Data(contentsOf: URL(fileURLWithPath: fixture.path("warm/index.json")))
        #expect(coldIndex == warmIndex)
        // The reused blob in the layout is whole: sha256sum agrees with its name.
        let blob = fixture.path("warm/blobs/sha256/" + warm.layers[0].digest.hex)
        #expect(try Tools.sha256(file: blob) == warm.layers[0].digest.description)
        #expect(try fixture.entries().count == 2)
    }

    @Test func changingOneFileRebuildsOnlyItsLayer() async throws {
        let fixture = try CacheFixture()
        let first = try await fixture.build()
        try fixture.scratch.write("etc/motd", "hello, world\n")
        let second = try await fixture.build()
        #expect(fixture.cachedFlags(second) == [true, false])
        #expect(second.layers[0].digest == first.layers[0].digest)
        #expect(second.layers[1].digest != first.layers[1].digest)
        let uncached = try await fixture.build("uncached", useCache: false)
        #expect(uncached.manifestDigest == second.manifestDigest)
    }

    @Test func inAnEmptyCacheFilesLayersAreBuiltWhileHashedAndACheckoutElsewhereHits() async throws {
        let fixture = try CacheFixture()
        func speculates(_ plan: ImageBuildPlan) throws -> [Bool] {
            let options = BuildOptions(output: nil, jobs: 2, cacheDirectory: fixture.cache)
            let cache = try #require(BuildCache.open(plan: plan, options: options, observer: NoteCollector()))
            return plan.layers.map { cache.buildsWhileHashing($0) }
        }
        #expect(try speculates(fixture.plan()) == [true, true])
        let original = try await fixture.build()
        #expect(fixture.cachedFlags(original) == [false, false])
        #expect(try fixture.entries().count == 2)
        #expect(try original.manifestDigest == (await fixture.build("uncached", useCache: false)).manifestDigest)
        // With entries in the cache, keys come first.
        #expect(try speculates(fixture.plan()) == [false, false])

        // A checkout at another path (a CI workspace): keys hold host paths
        // relative to the context, so every layer is reused.
        try FileManager.default.createDirectory(atPath: fixture.path("clone"), withIntermediateDirectories: true)
        for name in ["app", "etc", "plan.yaml"] {
            try FileManager.default.copyItem(atPath: fixture.path(name), toPath: fixture.path("clone/" + name))
        }
        let moved = try await fixture.build("moved", plan: "clone/plan.yaml")
        #expect(fixture.cachedFlags(moved) == [true, true])
        #expect(moved.manifestDigest == original.manifestDigest)
        #expect(try fixture.entries().count == 2)
        let blobs = try FileManager.default.contentsOfDirectory(atPath: fixture.path("moved/blobs/sha256")).sorted()
        #expect(blobs == (moved.layers.map(\.digest.hex) + [moved.manifestDigest.hex, moved.configDigest!.hex]).sorted())
        for layer in moved.layers {
            #expect(try Tools.sha256(file: fixture.path("moved/blobs/sha256/" + layer.digest.hex)) == layer.digest.description)
        }
    }

    @Test func aSourceOutsideTheContextKeepsItsAbsolutePathInTheKey() throws {
        // Relative forms never start with "/", so a path outside the base
        // cannot collide with one inside it.
        let fixture = try CacheFixture()
        let plan = try fixture.plan()
        let key = try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:])
        var moved = plan
        moved.context = "/elsewhere"
        #expect(try LayerCacheKey(layer: plan.layers[0], plan: moved, inputDigests: [:]) != key)
    }

    @Test func noCacheRebuildsEverythingWithTheSameBytesAndLeavesTheCacheAlone() async throws {
        let fixture = try CacheFixture()
        let cached = try await fixture.build("cached")
        let entries = try fixture.entries()
        let uncached = try await fixture.build("uncached", useCache: false)
        #expect(fixture.cachedFlags(uncached) == [false, false])
        #expect(uncached.manifestDigest == cached.manifestDigest)
        #expect(try fixture.entries() == entries)
    }

    @Test func aTruncatedBlobIsDroppedWithAWarningAndRebuilt() async throws {
        let fixture = try CacheFixture()
        let first = try await fixture.build()
        let blob = fixture.cachedBlob(first, layer: 0)
        #expect(truncate(blob, 10) == 0)
        let notes = NoteCollector()
        let second = try await fixture.build(observer: notes)
        #expect(fixture.cachedFlags(second) == [false, true])
        #expect(second.manifestDigest == first.manifestDigest)
        #expect(notes.notes == [
            "layer \"app\": dropped a corrupt cache entry (blob \(first.layers[0].digest) is 10 bytes, expected \(first.layers[0].compressedSize)); building the layer again",
        ])
        let third = try await fixture.build()
        #expect(fixture.cachedFlags(third) == [true, true])
    }

    @Test func aBlobWithAFlippedByteIsDroppedWithAWarningAndRebuilt() async throws {
        let fixture = try CacheFixture()
        let first = try await fixture.build()
        let blob = fixture.cachedBlob(first, layer: 0)
        // The blob is hard-linked into the first layout: copy it first, so
        // flipping a byte in the cache leaves the other file alone either way.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: blob)))
        bytes[bytes.count / 2] ^= 0xFF
        unlink(blob)
        try Data(bytes).write(to: URL(fileURLWithPath: blob))
        let flipped = try Tools.sha256(file: blob)
        let notes = NoteCollector()
        let second = try await fixture.build("second", observer: notes)
        #expect(fixture.cachedFlags(second) == [false, true])
        #expect(second.manifestDigest == first.manifestDigest)
        #expect(notes.notes == [
            "layer \"app\": dropped a corrupt cache entry (blob \(blob) does not match its digest: expected \(first.layers[0].digest), found \(flipped)); building the layer again",
        ])
        #expect(try Tools.sha256(file: blob) == first.layers[0].digest.description)
    }

    /// Issue 22, finding 3: outputs share no storage with the cache or a
    /// base layout. Bytes flipped and a file truncated in place, in the
    /// cache and in the base, leave every layout built before intact.
    @Test func damagingTheCacheOrTheBaseInPlaceLeavesEarlierOutputsIntact() async throws {
        let fixture = try CacheFixture()
        let first = try await fixture.build()
        let second = try await fixture.build("second")
        #expect(fixture.cachedFlags(second) == [true, true])
        try fixture.scratch.write("derived.yaml", """
            kiln: 1
            name: example.com/derived
            base: oci:out
            layers:
              - name: extra
                type: files
                files:
                  - { path: /etc/extra, content: "x\\n" }

            """)
        let derived = try await fixture.build("derived-out", plan: "derived.yaml")
        for layer in 0..<2 {
            let blob = fixture.cachedBlob(first, layer: layer)
            let handle = try #require(FileHandle(forUpdatingAtPath: blob))
            if layer == 0 {
                try handle.seek(toOffset: 16)
                handle.write(Data(repeating: 0xA5, count: 16))
            } else {
                try handle.truncate(atOffset: 10)
            }
            try handle.close()
        }
        // The base layout's first blob, damaged in place too.
        let baseBlob = fixture.path("out/blobs/sha256/" + first.layers[0].digest.hex)
        let baseHandle = try #require(FileHandle(forUpdatingAtPath: baseBlob))
        try baseHandle.seek(toOffset: 8)
        baseHandle.write(Data(repeating: 0x5A, count: 8))
        try baseHandle.close()
        for (output, report) in [("second", second), ("derived-out", derived)] {
            for layer in report.layers {
                let file = fixture.path("\(output)/blobs/sha256/" + layer.digest.hex)
                #expect(try Tools.sha256(file: file) == layer.digest.description, "\(output): \(layer.name)")
            }
        }
    }

    @Test func aGarbageEntryIsDroppedWithAWarningAndRebuilt() async throws {
        let fixture = try CacheFixture()
        let first = try await fixture.build()
        let entries = try fixture.entries()
        let entry = fixture.cache + "/layers/entries/" + entries[0]
        try Data("{\"key\": 12, garbage".utf8).write(to: URL(fileURLWithPath: entry))
        let notes = NoteCollector()
        let second = try await fixture.build(observer: notes)
        #expect(second.manifestDigest == first.manifestDigest)
        #expect(second.layers.filter(\.cached).count == 1)
        let rebuilt = try #require(second.layers.first { !$0.cached })
        #expect(notes.notes == [
            "layer \"\(rebuilt.name)\": dropped a corrupt cache entry (entry \(entry) is not a valid cache entry); building the layer again",
        ])
        #expect(try fixture.entries() == entries)
    }

    @Test func anEntryEditedIntoAnotherValidEntryIsDropped() async throws {
        let fixture = try CacheFixture()
        let first = try await fixture.build()
        let diffID = first.layers[0].diffID.hex
        let entry = try #require(try fixture.entries().map { fixture.cache + "/layers/entries/" + $0 }.first {
            try Files.text($0).contains(diffID)
        })
        // One hex digit of the diff_id changed: still valid JSON and a valid digest.
        let other = diffID.first == "0" ? "1" : "0"
        try Files.write(try Files.text(entry).replacingOccurrences(of: diffID, with: other + diffID.dropFirst()), to: entry)
        let notes = NoteCollector()
        let second = try await fixture.build(observer: notes)
        #expect(fixture.cachedFlags(second) == [false, true])
        #expect(second.layers[0].diffID == first.layers[0].diffID)
        #expect(notes.notes == [
            "layer \"app\": dropped a corrupt cache entry (entry \(entry) does not match its checksum); building the layer again",
        ])
    }

    @Test func anEntryFiledUnderAnotherKeyIsDropped() async throws {
        let fixture = try CacheFixture()
        _ = try await fixture.build()
        let entries = try fixture.entries()
        let directory = fixture.cache + "/layers/entries/"
        // Swap the two entries' files: each now names the other's key.
        try FileManager.default.moveItem(atPath: directory + entries[0], toPath: directory + "swap")
        try FileManager.default.moveItem(atPath: directory + entries[1], toPath: directory + entries[0])
        try FileManager.default.moveItem(atPath: directory + "swap", toPath: directory + entries[1])
        let notes = NoteCollector()
        let second = try await fixture.build(observer: notes)
        #expect(fixture.cachedFlags(second) == [false, false])
        func note(_ layer: String, _ entry: String) -> String {
            "layer \"\(layer)\": dropped a corrupt cache entry (entry \(directory + entry) describes another layer); building the layer again"
        }
        let either = [[note("app", entries[0]), note("config", entries[1])], [note("app", entries[1]), note("config", entries[0])]]
        #expect(either.contains(notes.notes.sorted()))
    }

    @Test func twoProcessesBuildingAtOnceWithOneCacheBothSucceedWithTheSameBytes() async throws {
        let fixture = try CacheFixture()
        let kiln = KilnBinary.path
        let runs = (0..<2).map { index in
            ChildProcess(executable: kiln, arguments: [kiln, "build", fixture.path("plan.yaml"), "-o", fixture.path("race\(index)"),
                                                       "--cache-dir", fixture.cache],
                         environment: ProcessInfo.processInfo.environment)
        }
        async let first = runs[0].run { _ in }
        async let second = runs[1].run { _ in }
        #expect(try await [first.termination, second.termination] == [.exited(0), .exited(0)])
        let indexes = try (0..<2).map { try Data(contentsOf: URL(fileURLWithPath: fixture.path("race\($0)/index.json"))) }
        #expect(indexes[0] == indexes[1])
        let after = try await fixture.build("after")
        #expect(fixture.cachedFlags(after) == [true, true])
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.path("after/index.json"))) == indexes[0])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.cache + "/layers/tmp").isEmpty)
    }

    @Test func twoBuildsAtOnceInOneProcessShareTheCache() async throws {
        let fixture = try CacheFixture()
        async let first = fixture.build("one")
        async let second = fixture.build("two")
        let (one, two) = try await (first, second)
        #expect(one.manifestDigest == two.manifestDigest)
        #expect(try fixture.entries().count == 2)
    }

    @Test func hardLinkedCopiesOfTheSameFilesAreAnotherLayer() async throws {
        let fixture = try CacheFixture()
        try fixture.scratch.write("app/lib/twin.txt", String(repeating: "data line\n", count: 2000))
        let copies = try await fixture.build("copies")
        unlink(fixture.path("app/lib/twin.txt"))
        #expect(link(fixture.path("app/lib/data.txt"), fixture.path("app/lib/twin.txt")) == 0)
        let linked = try await fixture.build("linked")
        #expect(fixture.cachedFlags(linked) == [false, true])
        #expect(linked.layers[0].digest != copies.layers[0].digest)
        let uncached = try await fixture.build("uncached", useCache: false)
        #expect(uncached.manifestDigest == linked.manifestDigest)
    }

    @Test func anUnusableCacheDirectoryIsNotedAndTheBuildGoesOn() async throws {
        let fixture = try CacheFixture()
        try fixture.scratch.write("cache", "not a directory\n")
        let notes = NoteCollector()
        let report = try await fixture.build(observer: notes)
        #expect(fixture.cachedFlags(report) == [false, false])
        #expect(notes.notes == ["layer cache not used: cache: cannot create directory \(fixture.cache)/layers: Not a directory"])
    }
}

@Suite struct CacheStatIndexTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-cache-tests")
    }

    var indexPath: String { scratch.path + "/inputs.index" }

    func stamp(_ path: String) -> FileStamp {
        var info = stat()
        _ = lstat(path, &info)
        return FileStamp(info)
    }

    /// Sets a file's mtime (and so its ctime to now).
    func setModified(_ path: String, _ seconds: Int64) {
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, 0)
    }

    @Test func aFileRewrittenWithinTheSameSecondWithTheSameSizeIsHashedAgain() throws {
        let file = try scratch.write("input.txt", "aaaa\n")
        let first = InputDigester(statIndex: InputStatIndex(path: indexPath))
        #expect(try first.digest(of: file).description == (try Tools.sha256(Array("aaaa\n".utf8))))
        try first.saveStatIndex()
        let before = stamp(file)
        try scratch.write("input.txt", "bbbb\n")
        // As on a file system with one-second timestamps: same size, same mtime.
        setModified(file, before.modified)
        let second = InputDigester(statIndex: InputStatIndex(path: indexPath))
        #expect(try second.digest(of: file).description == (try Tools.sha256(Array("bbbb\n".utf8))))
    }

    @Test func anEntryIsTrustedOnlyWhenItsStampPrecedesTheIndexWrite() throws {
        let file = try scratch.write("input.txt", "aaaa\n")
        let recorded = InputStatIndex(path: indexPath)
        let fake = try ContentDigest(parsing: "sha256:" + String(repeating: "ab", count: 32))
        recorded.record(fake, for: file, stamp: stamp(file))
        try recorded.save()
        let now = stamp(indexPath).modified
        // Written in the same second as the file changed: racy, not trusted.
        #expect(InputStatIndex(path: indexPath).digest(for: file, stamp: stamp(file)) == nil)
        // The index written later than the file's last change: trusted,
        // which the fake digest shows (the file itself was not read).
        setModified(indexPath, now + 5)
        let later = InputStatIndex(path: indexPath)
        #expect(later.digest(for: file, stamp: stamp(file)) == fake)
        #expect(try InputDigester(statIndex: later).digest(of: file) == fake)
        var changed = stamp(file)
        changed.size += 1
        #expect(later.digest(for: file, stamp: changed) == nil)
        changed = stamp(file)
        changed.inode += 1
        #expect(later.digest(for: file, stamp: changed) == nil)
    }

    /// kiln writes the index in path byte order and looks paths up by
    /// binary search; an index in another order (an older kiln sorted by
    /// string order, or a hand edit) still answers for every path.
    @Test func anIndexOutOfOrderIsSortedWhenLoaded() throws {
        let files = try ["b.txt", "a.txt", "a-b.txt", "c/d.txt"].map { try scratch.write($0, "\($0)\n") }
        let written = InputStatIndex(path: indexPath)
        let fakes = (0..<files.count).map { index in ContentDigest(sha256Bytes: Array(repeating: UInt8(index), count: 32)) }
        for (file, fake) in zip(files, fakes) { written.record(fake, for: file, stamp: stamp(file)) }
        try written.save()
        let lines = try String(contentsOfFile: indexPath, encoding: .utf8).split(separator: "\n")
        #expect(lines.dropFirst().map { String($0.split(separator: " ").last!) } == files.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        try (([lines[0]] + lines.dropFirst().reversed()).joined(separator: "\n") + "\n").write(toFile: indexPath, atomically: false, encoding: .utf8)
        setModified(indexPath, Int64(Date().timeIntervalSince1970) + 5)
        let loaded = InputStatIndex(path: indexPath)
        for (file, fake) in zip(files, fakes) { #expect(loaded.digest(for: file, stamp: stamp(file)) == fake) }
        #expect(loaded.digest(for: scratch.path + "/missing.txt", stamp: stamp(files[0])) == nil)
    }

    @Test func aGarbageIndexIsIgnored() throws {
        let file = try scratch.write("input.txt", "aaaa\n")
        try Data("kiln-input-index 1\nnot a record\n\u{0}\u{1}".utf8).write(to: URL(fileURLWithPath: indexPath))
        let digester = InputDigester(statIndex: InputStatIndex(path: indexPath))
        #expect(try digester.digest(of: file).description == (try Tools.sha256(Array("aaaa\n".utf8))))
    }

    @Test func aDirectoryDigestCountsHardLinkGroups() throws {
        try scratch.write("copies/a", "same\n")
        try scratch.write("copies/b", "same\n")
        try scratch.write("linked/a", "same\n")
        #expect(link(scratch.path + "/linked/a", scratch.path + "/linked/b") == 0)
        let digester = InputDigester()
        let copies = try digester.digest(of: scratch.path + "/copies")
        let linked = try digester.digest(of: scratch.path + "/linked")
        #expect(copies != linked)
        // The group's later member records the first: derived with sha256sum.
        let file = try Tools.sha256(Array("same\n".utf8))
        #expect(linked.description == (try Tools.sha256(Array("a\0f\0\(file)\nb\0h\0a\n".utf8))))
        #expect(copies.description == (try Tools.sha256(Array("a\0f\0\(file)\nb\0f\0\(file)\n".utf8))))
    }
}

extension CacheStatIndexTests {
    /// The records of a directory digest are hashed in the byte order of
    /// their paths, which a walk does not give by itself: `a.txt` falls
    /// between the directory `a` and its contents. More files than one
    /// hashing batch, a hardlink group across batches, an executable and a
    /// symlink; the expected digest is built here from the rule in
    /// InputDigester's documentation, by sorting every record.
    @Test func aDirectoryDigestHashesRecordsInPathByteOrder() throws {
        var records: [(path: String, line: String)] = []
        func file(_ path: String, _ text: String, executable: Bool = false) throws {
            let host = try scratch.write("tree/" + path, text)
            if executable { #expect(chmod(host, 0o755) == 0) }
            let digest = ContentDigest(sha256Bytes: SHA256.hash(data: Array(text.utf8)))
            records.append((path, "\(path)\0\(executable ? "x" : "f")\0\(digest)\n"))
        }
        for index in 0..<1500 { try file("a/\(index)", "file \(index)\n") }
        try file("a.txt", "beside a\n", executable: true)
        try file("a-b/c", "nested\n")
        try file("b", "linked\n")
        #expect(link(scratch.path + "/tree/b", scratch.path + "/tree/a/zz-link") == 0)
        records.append(("a/zz-link", "a/zz-link\0h\0b\n"))
        #expect(symlink("a.txt", scratch.path + "/tree/c") == 0)
        records.append(("c", "c\0l\0a.txt\n"))
        for directory in ["a", "a-b"] { records.append((directory, "\(directory)\0d\0\n")) }
        // The first member in byte order is "a/zz-link", which "b" follows:
        // "a/zz-link" is the file and "b" links to it.
        records.removeAll { $0.path == "b" || $0.path == "a/zz-link" }
        let linked = ContentDigest(sha256Bytes: SHA256.hash(data: Array("linked\n".utf8)))
        records.append(("a/zz-link", "a/zz-link\0f\0\(linked)\n"))
        records.append(("b", "b\0h\0a/zz-link\n"))
        let ordered = records.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        #expect(ordered.firstIndex { $0.path == "a.txt" }! < ordered.firstIndex { $0.path == "a/0" }!)
        let expected = try Tools.sha256(Array(ordered.map(\.line).joined().utf8))
        #expect(try InputDigester().digest(of: scratch.path + "/tree").description == expected)
        // With a stat index, first filled and then used, the same digest.
        let indexed = InputDigester(statIndex: InputStatIndex(path: indexPath))
        #expect(try indexed.digest(of: scratch.path + "/tree").description == expected)
        try indexed.saveStatIndex()
        setModified(indexPath, Int64(Date().timeIntervalSince1970) + 5)
        #expect(try InputDigester(statIndex: InputStatIndex(path: indexPath)).digest(of: scratch.path + "/tree").description == expected)
    }
}

@Suite struct CacheMaintenanceTests {
    let fixture: CacheFixture

    init() throws {
        fixture = try CacheFixture()
    }

    /// Gives the entry of `layer` in `report` a last use of `seconds`.
    func setLastUse(_ report: BuildReport, layer: String, _ seconds: Int) throws {
        for name in try fixture.entries() {
            let path = fixture.cache + "/layers/entries/" + name
            let entry = try #require(LayerCache.readEntry(at: path))
            guard entry.layer == layer else { continue }
            var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }
    }

    @Test func infoCountsEntriesBlobsAndUses() async throws {
        let report = try await fixture.build()
        try setLastUse(report, layer: "app", 1_700_000_000)
        try setLastUse(report, layer: "config", 1_700_086_400)
        let summary = try LayerCache(directory: fixture.cache, access: .shared).summary()
        #expect(summary.directory == fixture.cache)
        #expect(summary.entries == 2)
        #expect(summary.blobs == 2)
        #expect(summary.blobBytes == report.layers.map(\.compressedSize).reduce(0, +))
        #expect(summary.oldestUse == "2023-11-14T22:13:20Z")
        #expect(summary.newestUse == "2023-11-15T22:13:20Z")
        #expect(summary.indexedInputs == 3)
    }

    @Test func pruneRemovesTheLeastRecentlyUsedFirst() async throws {
        let report = try await fixture.build()
        try setLastUse(report, layer: "app", 1_700_000_000)
        try setLastUse(report, layer: "config", 1_700_086_400)
        let config = report.layers[1]
        let result = try LayerCache(directory: fixture.cache, access: .exclusive).prune(maxSize: config.compressedSize)
        #expect(result.removedEntries == 1 && result.keptEntries == 1)
        #expect(result.layers.removedFiles == 1 && result.layers.keptFiles == 1)
        #expect(result.removedBytes == report.layers[0].compressedSize && result.keptBytes == config.compressedSize)
        let again = try await fixture.build("again")
        #expect(fixture.cachedFlags(again) == [false, true])
    }

    @Test func aReuseCountsAsAUse() async throws {
        let report = try await fixture.build()
        try setLastUse(report, layer: "app", 1_700_000_000)
        try setLastUse(report, layer: "config", 1_700_086_400)
        _ = try await fixture.build("again")
        let summary = try LayerCache(directory: fixture.cache, access: .shared).summary()
        #expect(summary.oldestUse != "2023-11-14T22:13:20Z")
    }

    @Test func pruneWithoutASizeEmptiesTheCache() async throws {
        let report = try await fixture.build()
        let result = try LayerCache(directory: fixture.cache, access: .exclusive).prune(maxSize: nil)
        #expect(result.removedEntries == 2 && result.keptEntries == 0 && result.layers.removedFiles == 2)
        #expect(result.removedBytes == report.layers.map(\.compressedSize).reduce(0, +) && result.keptBytes == 0)
        let summary = try LayerCache(directory: fixture.cache, access: .shared).summary()
        #expect(summary.entries == 0 && summary.blobs == 0 && summary.indexedInputs == 0)
    }

    @Test func pruneRemovesOrphansAndLeftovers() async throws {
        let report = try await fixture.build()
        try Data("partial".utf8).write(to: URL(fileURLWithPath: fixture.cache + "/layers/tmp/blob-1-x"))
        try Data("orphan".utf8).write(to: URL(fileURLWithPath: fixture.cache + "/layers/blobs/sha256/" + String(repeating: "0", count: 64)))
        let total = report.layers.map(\.compressedSize).reduce(0, +)
        let result = try LayerCache(directory: fixture.cache, access: .exclusive).prune(maxSize: total)
        #expect(result.removedEntries == 0 && result.keptEntries == 2 && result.layers.removedFiles == 1)
        #expect(result.removedBytes == 6 && result.keptBytes == total)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.cache + "/layers/tmp").isEmpty)
    }

    @Test func theCommandLinePrintsInfoAndPrunes() async throws {
        let report = try await fixture.build()
        try setLastUse(report, layer: "app", 1_700_000_000)
        try setLastUse(report, layer: "config", 1_700_086_400)
        let total = report.layers.map(\.compressedSize).reduce(0, +)
        let info = try Tools.execute([KilnBinary.path, "cache", "info", "--cache-dir", fixture.cache])
        #expect(info.status == 0)
        #expect(info.stdout == """
            cache \(fixture.cache)
            layers 2 entries, 2 blobs, \(total) B
            last used oldest 2023-11-14T22:13:20Z, newest 2023-11-15T22:13:20Z
            inputs 3 files in the stat index
            packages 0 downloaded files (.debs and indexes), 0 B
            registry 0 blobs of registry bases, 0 B

            """)
        let prune = try Tools.execute([KilnBinary.path, "cache", "prune", "--max-size", "\(report.layers[1].compressedSize)", "--cache-dir", fixture.cache])
        #expect(prune.status == 0)
        #expect(prune.stdout == """
            layers    removed 1 entries, 1 blobs (\(report.layers[0].compressedSize) B); kept 1 entries, 1 blobs (\(report.layers[1].compressedSize) B)
            packages  removed 0 files (0 B); kept 0 files (0 B)
            registry  removed 0 blobs (0 B); kept 0 blobs (0 B)
            total     removed \(report.layers[0].compressedSize) B; kept \(report.layers[1].compressedSize) B

            """)
        let bad = try Tools.execute([KilnBinary.path, "cache", "prune", "--max-size", "lots", "--cache-dir", fixture.cache])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--max-size: invalid size \"lots\" (expected bytes, or a number with K, M, G or T, e.g. 500M, 2G, 1.5GiB)"))
    }

    @Test(arguments: [
        ("1048576", Int64(1_048_576)), ("512K", 524_288), ("500M", 524_288_000), ("2G", 2_147_483_648),
        ("1.5GiB", 1_610_612_736), ("1t", 1_099_511_627_776), ("0", 0), ("10 MB", 10_485_760),
    ])
    func sizesParse(_ text: String, _ bytes: Int64) throws {
        #expect(try ByteSize.parse(text) == bytes)
    }

    @Test(arguments: ["", "M", "-1G", "1.2.3", "12X", "1e3", "99999999999T"])
    func badSizesAreRefused(_ text: String) {
        #expect(throws: CacheError.invalidSize(text)) { try ByteSize.parse(text) }
        #expect(CacheError.invalidSize(text).description == "invalid size \"\(text)\" (expected bytes, or a number with K, M, G or T, e.g. 500M, 2G, 1.5GiB)")
    }
}
