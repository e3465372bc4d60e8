import Foundation
import KilnCore
import Testing
import TestSupport

/// `kiln diff` on what packages layers install: the lock file's resolution
/// compared per layer (added, removed, upgraded, downgraded), `--resolve`
/// where no lock says, and the packages a built layer's dpkg database lists.
/// Packages come from `.deb` files built here with dpkg-deb (`dir:` sources),
/// so nothing needs the network.
@Suite(.requires(.kilnBinary, .tools("git", "dpkg-deb")))
struct DiffPackagesTests {
    let scratch: TemporaryDirectory
    let repository: String

    init() throws {
        scratch = try TemporaryDirectory()
        repository = try scratch.directory("repo")
    }

    /// A plan with a packages layer `runtime` over `debs/` and a files layer.
    static func plan(names: String, debs: String = "debs") -> String {
        """
        kiln: 1
        name: example.com/app
        platform: linux/amd64
        layers:
          - name: runtime
            type: packages
            names: \(names)
            sources: [{ dir: \(debs) }]
          - name: cfg
            type: files
            files:
              - { path: /etc/app.conf, content: "port=80\\n" }

        """
    }

    /// Builds `<name>_<version>_all.deb` into `directory` (below the
    /// scratch directory), shipping `bytes` bytes of data.
    func deb(_ name: String, _ version: String, into directory: String, depends: String? = nil, bytes: Int = 100) throws {
        let root = "pkgs/\(name)-\(version)"
        var control = "Package: \(name)\nVersion: \(version)\nArchitecture: all\nMaintainer: kiln <kiln@example.com>\n"
        if let depends { control += "Depends: \(depends)\n" }
        try scratch.write(root + "/DEBIAN/control", control + "Description: test package\n")
        var generator = SplitMix64(seed: UInt64(bytes) &+ UInt64(name.utf8.count))
        try scratch.write(root + "/usr/share/\(name)/data", bytes: generator.bytes(bytes))
        try scratch.write(root + "/usr/share/doc/\(name)/copyright", "free\n")
        try scratch.directory(directory)
        try Tools.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", scratch.path(root), scratch.path(directory + "/\(name)_\(version)_all.deb")])
    }

    @discardableResult
    func git(_ arguments: String...) throws -> String {
        try Tools.run(["git", "-C", repository, "-c", "user.name=kiln", "-c", "user.email=kiln@example.com"] + arguments)
    }

    func commit() throws {
        try git("add", "-A")
        try git("commit", "-q", "-m", "change")
    }

    /// Runs kiln in the repository; `lock` and `--resolve` keep their
    /// downloads in the test's own cache.
    func kiln(_ arguments: String...) throws -> ProcessResult {
        let cache = arguments.first == "lock" || arguments.contains("--resolve") ? ["--cache-dir", scratch.path("cache")] : []
        return try Tools.kiln(arguments + cache, in: repository)
    }

    /// Commits `image/app.yaml` naming `names`, locked over the debs given.
    func lockedRepository(names: String) throws {
        try git("init", "-q")
        try scratch.write("repo/image/app.yaml", Self.plan(names: names))
        let lock = try kiln("lock", "image/app.yaml")
        try #require(lock.status == 0, "\(lock.stderr)")
        try commit()
    }

    /// Finding: tzdata's version changed in the lock file only, and the
    /// diff said `no differences`, exit 0.
    @Test func aChangeOfTheLockFileAloneIsADifference() throws {
        try deb("tzdata", "2024a-0", into: "repo/image/debs")
        try lockedRepository(names: "[tzdata]")
        let unchanged = try kiln("diff", "--git", "HEAD", "image/app.yaml")
        #expect(unchanged.status == 0 && unchanged.stdout.hasSuffix("no differences\n"), "\(unchanged.stdout)\(unchanged.stderr)")

        // As `kiln lock` writes it when the archive moved on.
        let lockPath = scratch.path("repo/image/app.lock.json")
        let text = try String(contentsOfFile: lockPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"2024a-0\"", with: "\"2025a-0\"").write(toFile: lockPath, atomically: true, encoding: .utf8)

        let result = try kiln("diff", "--git", "HEAD", "image/app.yaml")
        #expect(result.status == 1)
        #expect(result.stdout == """
            --- image/app.yaml@HEAD
            +++ image/app.yaml
            packages
              ~ runtime: 1 upgraded; from lock
                  ~ tzdata 2024a-0 → 2025a-0 (all, upgraded)
            cache
              rebuilt  runtime  (lock)
              kept     cfg
            Only the layers built again get new digests: an OCI layer's digest covers its own content alone, so the layers above a rebuilt one keep theirs.

            """, "\(result.stderr)")

        let markdown = try kiln("diff", "--git", "HEAD", "image/app.yaml", "--format", "markdown")
        #expect(markdown.status == 1)
        #expect(markdown.stdout.contains("| 1 | `runtime` | packages | packages: 1 upgraded | **rebuilt** (lock) |"), "\(markdown.stdout)")
        #expect(markdown.stdout.contains("| ~ | `tzdata` | `2024a-0` | `2025a-0` | all, upgraded |"), "\(markdown.stdout)")

        let json = try kiln("diff", "--git", "HEAD", "image/app.yaml", "--format", "json")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let packages = try #require(document["packages"] as? [[String: Any]])
        #expect(packages.count == 1)
        #expect(packages.first?["layer"] as? String == "runtime")
        #expect(packages.first?["known"] as? Bool == true)
        let change = try #require((packages.first?["changes"] as? [[String: Any]])?.first)
        #expect(change["name"] as? String == "tzdata")
        #expect(change["change"] as? String == "upgraded")
        #expect(change["old_version"] as? String == "2024a-0")
        #expect(change["new_version"] as? String == "2025a-0")
        #expect(change["architecture"] as? String == "all")
    }

    /// Debian version order, not text order: `1.10` is above `1.9`, and an
    /// epoch beats any upstream version.
    @Test func upgradesAndDowngradesFollowDebianVersionOrder() throws {
        try deb("tool", "1.9-1", into: "repo/image/debs")
        try deb("lib", "1:0.5-1", into: "repo/image/debs")
        try lockedRepository(names: "[tool, lib]")
        let lockPath = scratch.path("repo/image/app.lock.json")
        let text = try String(contentsOfFile: lockPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"1.9-1\"", with: "\"1.10-1\"").replacingOccurrences(of: "\"1:0.5-1\"", with: "\"2.0-1\"")
            .write(toFile: lockPath, atomically: true, encoding: .utf8)
        let result = try kiln("diff", "--git", "HEAD", "image/app.yaml")
        #expect(result.stdout.contains("""
              ~ runtime: 1 upgraded, 1 downgraded; from lock
                  ~ lib 1:0.5-1 → 2.0-1 (all, downgraded)
                  ~ tool 1.9-1 → 1.10-1 (all, upgraded)

            """), "\(result.stdout)")
    }

    /// Finding: adding a package showed only `+ names libfoo`, not what it
    /// pulls in. Without a lock for the new plan the diff says the
    /// resolution is unknown; `--resolve` resolves and shows it.
    @Test func aPlanChangeWithoutALockIsUnknownUntilResolved() throws {
        try deb("tzdata", "2024a-0", into: "repo/image/debs")
        try deb("libfoo", "1.0-1", into: "repo/image/debs", depends: "libbar (>= 2)", bytes: 5000)
        try deb("libbar", "2.1-1", into: "repo/image/debs", bytes: 3000)
        try lockedRepository(names: "[tzdata]")
        try scratch.write("repo/image/app.yaml", Self.plan(names: "[tzdata, libfoo]"))

        let unknown = try kiln("diff", "--git", "HEAD", "image/app.yaml")
        #expect(unknown.status == 1)
        #expect(unknown.stdout.contains("""
            packages
              ? runtime: resolution unknown: the new plan's lock entry is stale (its package inputs changed); run `kiln diff --resolve` to resolve both sides from their sources, or `kiln lock`
            cache
              rebuilt  runtime  (spec)

            """), "\(unknown.stdout)")

        let resolved = try kiln("diff", "--git", "HEAD", "image/app.yaml", "--resolve")
        #expect(resolved.status == 1, "\(resolved.stderr)")
        let lines = resolved.stdout.split(separator: "\n").map(String.init)
        let heading = try #require(lines.first { $0.hasPrefix("  ~ runtime: ") })
        #expect(heading.hasPrefix("  ~ runtime: 2 added; .deb files "), "\(heading)")
        #expect(heading.hasSuffix("; from lock → resolved"), "\(heading)")
        #expect(lines.contains("      + libbar 2.1-1 (all)"))
        #expect(lines.contains("      + libfoo 1.0-1 (all)"))
        #expect(!lines.contains { $0.contains("tzdata") })
        // With both resolutions known the cache key covers them.
        #expect(lines.contains("  rebuilt  runtime  (spec, lock)"), "\(resolved.stdout)")
    }

    /// The registry base a lock pins is compared too: a new pin is a new
    /// base image though the plan reads the same; a lock that cannot be
    /// read is an error (exit 2) naming the file.
    @Test func theLockedBaseAndAnUnreadableLock() throws {
        let plan = "kiln: 1\nname: app\nbase: registry.example/team/base:1\nplatform: linux/amd64\nlayers: [{ name: a, type: files, files: [{ path: /x, content: \"1\" }] }]\n"
        let digests = (String(repeating: "a", count: 64), String(repeating: "b", count: 64))
        for (side, hex) in [("old", digests.0), ("new", digests.1)] {
            try scratch.write(side + "/app.yaml", plan)
            let base = "{\"digest\":\"sha256:\(hex)\",\"manifest\":\"sha256:\(hex)\",\"reference\":\"registry.example/team/base:1\"}"
            try scratch.write(side + "/app.lock.json", "{\"base\":\(base),\"kiln_lock\":1,\"layers\":{}}\n")
        }
        let result = try Tools.kiln(["diff", "old/app.yaml", "new/app.yaml"], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.stdout.contains("image\n  ~ base_digest: \"sha256:\(digests.0.prefix(12))…\" → \"sha256:\(digests.1.prefix(12))…\"\n"), "\(result.stdout)")

        try scratch.write("new/app.lock.json", "{\"kiln_lock\": 1}\n")
        let broken = try Tools.kiln(["diff", "old/app.yaml", "new/app.yaml"], in: scratch.path)
        #expect(broken.status == 2)
        #expect(broken.stderr == "kiln: error: new/app.lock.json: missing \"layers\"\n", "\(broken.stderr)")
    }

    /// Finding: `tzdata` → `tzdata (>= 2025a)` said `rebuilt runtime (key)`.
    @Test func aChangedPackageAtomIsASpecChange() throws {
        try scratch.directory("debs")
        try scratch.write("a.yaml", Self.plan(names: "[tzdata]"))
        try scratch.write("b.yaml", Self.plan(names: "[\"tzdata (>= 2025a)\"]"))
        let result = try Tools.kiln(["diff", "a.yaml", "b.yaml"], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.stdout.contains("""
            layers
              ~ runtime (packages, layer 1)
                  ~ names tzdata: "tzdata" → "tzdata (>= 2025a)"
            packages
              ? runtime: resolution unknown: neither plan has a lock file; run `kiln diff --resolve` to resolve both sides from their sources, or `kiln lock`
            cache
              rebuilt  runtime  (spec)

            """), "\(result.stdout)")
    }

    /// Finding: a layout diff was 358 lines of single files, sizes in raw
    /// bytes, `blob_size` in the markdown "path" column, and the package
    /// list past the 50-row cut. Now a summary leads: per layer the size
    /// before → after, the packages from `status.d`, files by directory.
    @Test func aLayoutDiffLeadsWithSizesPackagesAndDirectories() throws {
        try deb("tzdata", "2024a-0", into: "old/debs", bytes: 20_000)
        try deb("tzdata", "2025a-0", into: "new/debs", bytes: 30_000)
        try deb("libfoo", "1.0-1", into: "new/debs", depends: "libbar", bytes: 50_000)
        try deb("libbar", "2.1-1", into: "new/debs", bytes: 40_000)
        try scratch.write("old/app.yaml", Self.plan(names: "[tzdata]"))
        try scratch.write("new/app.yaml", Self.plan(names: "[tzdata, libfoo]"))
        for side in ["old", "new"] {
            let build = try Tools.kiln(["build", side + "/app.yaml", "-o", side + "/out", "--cache-dir", scratch.path("cache")], in: scratch.path)
            try #require(build.status == 0, "\(build.stderr)")
        }
        let result = try Tools.kiln(["diff", "old/out", "new/out"], in: scratch.path)
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(lines.prefix(3)) == ["--- old/out", "+++ new/out", "summary"], "\(result.stdout)")
        let runtime = lines[3]
        #expect(runtime.hasPrefix("  ~ runtime (layer 1): ") && runtime.contains(" KiB → ") && runtime.contains(" KiB (+"), "\(runtime)")
        #expect(runtime.hasSuffix("; packages: 2 added, 1 upgraded; files: 12 added, 3 changed"), "\(runtime)")
        #expect(Array(lines[4...11]) == [
            "      + libbar 2.1-1 (all)",
            "      + libfoo 1.0-1 (all)",
            "      ~ tzdata 2024a-0 → 2025a-0 (all, upgraded)",
            "      /var/lib/dpkg/: 4 added, 2 changed",
            "      /usr/share/doc/: 4 added",
            "      /usr/share/libbar/: 2 added",
            "      /usr/share/libfoo/: 2 added",
            "      /usr/share/tzdata/: 1 changed",
        ], "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("      ~ blob_size: ") && $0.contains(" KiB → ") && $0.hasSuffix(" KiB)") }, "\(result.stdout)")

        let markdown = try Tools.kiln(["diff", "old/out", "new/out", "--format", "markdown"], in: scratch.path).stdout
        #expect(!markdown.contains("`blob_size`"), "\(markdown)")
        #expect(markdown.contains("| # | layer | size | packages | files |"))
        #expect(markdown.contains("| 1 | `runtime` | "), "\(markdown)")
        #expect(markdown.contains(" | 2 added, 1 upgraded | 12 added, 3 changed |"), "\(markdown)")
        #expect(markdown.contains("| + | `libfoo` |  | `1.0-1` | all |"), "\(markdown)")
        #expect(markdown.contains("| ~ | `tzdata` | `2024a-0` | `2025a-0` | all, upgraded |"), "\(markdown)")
        #expect(markdown.contains("| `/var/lib/dpkg/` | 4 added, 2 changed |"), "\(markdown)")
        // The summary comes before the folded file list.
        let summary = try #require(markdown.range(of: "<code>runtime</code> packages"))
        let files = try #require(markdown.range(of: "<code>runtime</code>: 15 files"))
        #expect(summary.lowerBound < files.lowerBound)

        let json = try Tools.kiln(["diff", "old/out", "new/out", "--format", "json"], in: scratch.path).stdout
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let layer = try #require((document["layers"] as? [[String: Any]])?.first)
        #expect((layer["packages"] as? [[String: Any]])?.map { $0["name"] as? String } == ["libbar", "libfoo", "tzdata"])
        #expect((layer["new_size"] as? Int ?? 0) > (layer["old_size"] as? Int ?? 0))
    }
}
