import Foundation
import Glibc
import Testing
import TestSupport

/// `kiln cache prune` counts every kind the cache holds (issue 20):
/// `--max-size` trims downloaded `.deb`s and indexes too, the report says
/// per kind what went and what stayed, and a running build is waited for.
@Suite(.requires(.kilnBinary, .tools("gpg", "dpkg-deb", "dpkg-scanpackages", "python3")))
struct CachePruneKindsTests {
    let scratch: TemporaryDirectory
    let repository: LoggedRepository
    var cache: String { scratch.path + "/.cache/kiln" }

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-prune-kinds")
        repository = try LoggedRepository(in: scratch)
        try scratch.write("plan.yaml", repository.plan("prune", names: "[hello, bulk]", more: """
              - name: motd
                type: files
                files: [{ path: /etc/motd, content: "hi\\n" }]

            """))
    }

    struct Figures: Decodable, Equatable { var removed_files: Int; var removed_bytes: Int64; var kept_files: Int; var kept_bytes: Int64 }
    struct Result: Decodable {
        var removed_entries: Int
        var kept_entries: Int
        var removed_bytes: Int64
        var kept_bytes: Int64
        var layers: Figures
        var packages: Figures
        var registry: Figures
    }

    /// Sizes of the regular files below `directory`.
    func sizes(_ directory: String) throws -> [Int64] {
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try Build.files(directory).values.map { Int64($0.count) }
    }

    func prune(_ arguments: [String]) throws -> Result {
        let result = try Tools.execute([KilnBinary.path, "cache", "prune", "--cache-dir", cache, "--json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(Result.self, from: Data(result.stdout.utf8))
    }

    @Test func maxSizeTrimsDownloadsAndThePlainPruneReportsEverything() throws {
        let built = try Build.run(["plan.yaml", "-o", "out"], in: scratch.path)
        #expect(built.status == 0, "\(built.stderr)")
        let downloads = try sizes(cache + "/debian")
        let layers = try sizes(cache + "/layers/blobs")
        let entries = try sizes(cache + "/layers/entries").count
        #expect(downloads.reduce(0, +) > 300_000, "the .debs and indexes are in the cache")
        // The downloads were used least recently (made so: the layers were
        // built at the same time): they go first, and the layers, which
        // fit, stay.
        for file in try Build.files(cache + "/debian").keys {
            var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, cache + "/debian/" + file, &times, 0) == 0)
        }
        let trimmed = try prune(["--max-size", "\(layers.reduce(0, +))"])
        #expect(trimmed.packages == Figures(removed_files: downloads.count, removed_bytes: downloads.reduce(0, +), kept_files: 0, kept_bytes: 0))
        #expect(trimmed.layers == Figures(removed_files: 0, removed_bytes: 0, kept_files: layers.count, kept_bytes: layers.reduce(0, +)))
        #expect(trimmed.removed_entries == 0 && trimmed.kept_entries == entries)
        #expect(trimmed.removed_bytes == downloads.reduce(0, +) && trimmed.kept_bytes == layers.reduce(0, +))
        #expect(try sizes(cache + "/debian").isEmpty)

        // Again: the .debs come back, then a plain prune removes (and
        // reports) every kind.
        #expect(try Build.run(["plan.yaml", "-o", "out", "--no-cache"], in: scratch.path).status == 0)
        let again = try sizes(cache + "/debian")
        let all = try prune([])
        #expect(all.removed_bytes == again.reduce(0, +) + layers.reduce(0, +))
        #expect(all.packages.removed_files == again.count)
        #expect(all.removed_entries == entries && all.kept_entries == 0 && all.kept_bytes == 0)
        let text = try Tools.execute([KilnBinary.path, "cache", "prune", "--cache-dir", cache])
        #expect(text.stdout.split(separator: "\n").map { String($0.prefix(9)) } == ["layers   ", "packages ", "registry ", "total    "], "\(text.stdout)")
    }

    /// A prune started while a build runs waits for it: nothing the build
    /// uses disappears under it.
    @Test func pruneWaitsForARunningBuild() throws {
        try scratch.write("slow.yaml", repository.plan("slow", names: "[hello]", more: """
              - name: slow
                type: build
                command: sleep 3 && echo done > "$KILN_OUT/done"

            """))
        let build = Process()
        build.executableURL = URL(fileURLWithPath: KilnBinary.path)
        build.arguments = ["build", "slow.yaml", "-o", "slow-out", "--no-cache", "--jobs", "1"]
        build.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        build.environment = Build.environment(cache: scratch.path + "/.cache")
        build.standardError = FileHandle.nullDevice
        try build.run()
        // Wait until the packages layer is done and the slow one runs.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? repository.requests())?.contains("GET /pool/hello_1.0_amd64.deb 200") != true {
            usleep(50_000)
        }
        let started = Date()
        let pruned = try prune([])
        let waited = Date().timeIntervalSince(started)
        build.waitUntilExit()
        #expect(build.terminationStatus == 0)
        #expect(waited > 1, "prune returned after \(waited) s, while the build still ran")
        #expect(pruned.packages.removed_files >= 1)
    }
}
