import Foundation
import KilnCore
import Testing
import TestSupport

/// Errors found after the plan parsed are as good as plan errors (issue 20,
/// SPEC §4): at the `file:line:col` of the plan value they are about,
/// naming the layer, every one at once, with "did you mean"; and
/// `--json` answers them with one `{"error": …}` document.
@Suite(.requires(.tools("dpkg-deb"))) struct AfterParsingErrorTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-after-parsing")
        for (name, version) in [("ca-certificates", "1.0"), ("curl", "2.0"), ("tzdata", "1.0"), ("kiln-demo", "1.0")] {
            try deb(name, version)
        }
        try deb("needs-libgone", "1.0", depends: "libgone")
    }

    var environment: [String: String] { Build.environment(cache: scratch.path("cache")) }

    /// `<name>_<version>_all.deb` in `debs/`, made by dpkg-deb.
    func deb(_ name: String, _ version: String, depends: String? = nil) throws {
        let root = "pkg/\(name)"
        var control = "Package: \(name)\nVersion: \(version)\nArchitecture: all\nMaintainer: kiln <kiln@example.com>\n"
        if let depends { control += "Depends: \(depends)\n" }
        try scratch.write(root + "/DEBIAN/control", control + "Description: test package\n")
        try scratch.write(root + "/usr/share/\(name)/README", "\(name)\n")
        try scratch.directory("debs")
        try Tools.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", scratch.path(root), scratch.path("debs/\(name)_\(version)_all.deb")])
    }

    /// A packages layer named `layer` with `names`, one per line from line
    /// `firstLine + 3` (column 9), after `prefix` layers.
    func plan(_ file: String, names: [String], layer: String = "pkgs", more: String = "") throws {
        try scratch.write(file, """
            kiln: 1
            name: example.com/e2e/pkgs
            layers:
              - name: \(layer)
                type: packages
                sources: [{ dir: debs }]
                names:
            \(names.map { "      - \($0)" }.joined(separator: "\n"))
            \(more)
            """)
    }

    static let missing = [
        "plan.yaml:8:9: error: layer \"pkgs\": package \"ca-certificate\" is not in any source (did you mean \"ca-certificates\"?)",
        "plan.yaml:9:9: error: layer \"pkgs\": no version of \"curl\" satisfies \"curl (= 1.0)\"; available: 2.0",
        "plan.yaml:10:9: error: layer \"pkgs\": package \"tzdat\" is not in any source (did you mean \"tzdata\"?)",
        "plan.yaml:12:9: error: layer \"pkgs\": package \"libgone\" is not in any source (needs-libgone 1.0 depends on \"libgone\")",
    ]

    static let names = ["ca-certificate", "curl=1.0", "tzdat", "kiln-demo", "needs-libgone"]

    /// Every missing or unsatisfiable name at once, in plan order (the
    /// missing `ca-certificate` before `curl=1.0`, which exists), each at
    /// its entry, with a suggestion from the indexes.
    @Test func buildReportsEveryPackageAtItsEntry() throws {
        try plan("plan.yaml", names: Self.names)
        let result = try Build.run(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(result.status == 1)
        #expect(Array(result.stderrLines.suffix(4)) == Self.missing, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))

        let json = try Build.run(["plan.yaml", "-o", "out", "--json"], in: scratch.path, environment: environment)
        #expect(json.status == 1)
        let document = try Self.document(json)
        let errors = try #require(document["errors"] as? [[String: Any]])
        #expect(errors.map { "\($0["file"]!):\($0["line"]!):\($0["column"]!)" } == ["plan.yaml:8:9", "plan.yaml:9:9", "plan.yaml:10:9", "plan.yaml:12:9"])
        #expect(errors.allSatisfy { $0["layer"] as? String == "pkgs" })
        let error = try #require(document["error"] as? [String: Any])
        #expect(error["message"] as? String == "layer \"pkgs\": package \"ca-certificate\" is not in any source (did you mean \"ca-certificates\"?)")
    }

    /// `kiln lock` reports the same way, naming the layer, for every layer.
    @Test func lockReportsEveryPackageOfEveryLayer() throws {
        try plan("plan.yaml", names: Self.names, more: """
              - name: second
                type: packages
                sources: [{ dir: debs }]
                names: [libc6]

            """)
        let result = try Tools.kiln(["lock", "plan.yaml", "--cache-dir", scratch.path("cache")], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.stderrLines == Self.missing + [
            "plan.yaml:16:13: error: layer \"second\": package \"libc6\" is not in any source",
        ], "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("plan.lock.json")))

        let json = try Tools.kiln(["lock", "plan.yaml", "--cache-dir", scratch.path("cache"), "--json"], in: scratch.path)
        #expect(json.status == 1)
        let errors = try #require(try Self.document(json)["errors"] as? [[String: Any]])
        #expect(errors.map { $0["layer"] as? String } == ["pkgs", "pkgs", "pkgs", "pkgs", "second"])
        #expect(errors.last?["line"] as? Int == 16)
    }

    /// A lock that no longer matches the plan is called stale, with what
    /// changed, when a build without --locked resolves the layer again.
    @Test func aStaleLockIsCalledStale() throws {
        try plan("plan.yaml", names: ["kiln-demo"])
        let lock = try Tools.kiln(["lock", "plan.yaml", "--cache-dir", scratch.path("cache"), "--json"], in: scratch.path)
        #expect(lock.status == 0, "\(lock.stderr)")
        // `kiln lock --json`: the lock file and what each layer pinned.
        let pinned = try Self.document(lock)
        #expect(pinned["lock"] as? String == scratch.path("plan.lock.json"))
        #expect((pinned["layers"] as? [[String: Any]])?.map { "\($0["layer"]!) \($0["packages"]!)" } == ["pkgs 1"])
        try plan("plan.yaml", names: ["kiln-demo", "tzdata"])
        let result = try Build.run(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let lockPath = scratch.path("plan.lock.json")
        #expect(result.stderr.contains(
            "\(lockPath) is stale for packages layer \"pkgs\" (\"tzdata\" is not among its packages): resolving from the repositories (kiln lock updates it)"),
            "\(result.stderr)")
        #expect(!result.stderr.contains("not pinned"))
        // --locked refuses it, and says the same.
        let locked = try Build.run(["plan.yaml", "-o", "out", "--locked"], in: scratch.path, environment: environment)
        #expect(locked.status == 1)
        #expect(Array(locked.stderrLines.suffix(2)) == [
            "kiln: error: --locked: \(lockPath): the lock file is stale for layer \"pkgs\" (the plan's packages inputs changed); run `kiln lock`",
            "  layer \"pkgs\": \"tzdata\" is not among its packages",
        ], "\(locked.stderr)")
    }

    /// A derivation whose store path does not exist is reported at its
    /// `store_path`.
    @Test func aMissingStorePathIsReportedAtItsPlace() throws {
        let store = try scratch.directory("store")
        let path = store + "/" + String(repeating: "0", count: 32) + "-missing-1"
        try scratch.write("drv.yaml", """
            kiln: 1
            name: example.com/e2e/drv
            layers:
              - name: app
                type: derivation
                store_dir: \(store)
                store_path: \(path)

            """)
        let result = try Build.run(["drv.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(result.status == 1)
        #expect(result.stderrLines.last == "drv.yaml:7:17: error: layer \"app\": store path \(path) does not exist", "\(result.stderr)")
    }

    static func document(_ result: ProcessResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(result.stdoutLines.count == 1, "\(result.stdout)", sourceLocation: sourceLocation)
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], sourceLocation: sourceLocation)
    }
}

/// Every command with a `--json` result answers a failure with one
/// document on stdout, `{"error": {"message", "file", "line", "column",
/// "layer"}}` (what is known), exit code unchanged (SPEC §4).
@Suite struct JSONFailureTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-json-failures")
        try scratch.write("bad.yaml", "kiln: 1\nname: App\nlayers: []\n")
        try scratch.write("a-file", "not a directory\n")
    }

    /// Runs kiln; returns the exit status and the `error` object.
    func failure(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> (Int32, [String: Any]) {
        let result = try Tools.kiln(arguments, in: scratch.path, environment: Build.environment(cache: scratch.path("cache")))
        #expect(result.signal == nil, sourceLocation: sourceLocation)
        let document = try AfterParsingErrorTests.document(result, sourceLocation: sourceLocation)
        let error = try #require(document["error"] as? [String: Any], sourceLocation: sourceLocation)
        #expect(error["message"] is String, sourceLocation: sourceLocation)
        #expect((document["errors"] as? [Any])?.isEmpty == false, sourceLocation: sourceLocation)
        return (result.status, error)
    }

    @Test func planErrorsCarryTheirPlace() throws {
        for arguments in [["lock", "bad.yaml", "--json"], ["build", "bad.yaml", "-o", "out", "--json"], ["diff", "bad.yaml", "bad.yaml", "--format", "json"]] {
            let (status, error) = try failure(arguments)
            #expect(status == (arguments[0] == "diff" ? 2 : 1), "\(arguments)")
            #expect(error["file"] as? String == "bad.yaml", "\(arguments)")
            // The first error in file order: the image name.
            #expect(error["line"] as? Int == 2, "\(arguments)")
            #expect(error["column"] as? Int == 7, "\(arguments)")
            #expect(error["message"] as? String == "image name \"App\" must be lowercase (did you mean \"app\"?)", "\(arguments)")
        }
    }

    @Test func failuresWithoutAPlanCarryTheMessage() throws {
        let missing = scratch.path("no-such-layout")
        let inspect = try failure(["inspect", missing, "--json"])
        #expect(inspect.0 == 1)
        #expect((inspect.1["message"] as? String)?.contains(missing) == true, "\(inspect.1)")
        #expect(inspect.1["file"] == nil)

        let push = try failure(["push", missing, "127.0.0.1:9/kiln/none:1", "--json"])
        #expect(push.0 == 1)
        #expect((push.1["message"] as? String)?.contains(missing) == true, "\(push.1)")

        let pull = try failure(["pull", "Not A Reference", "-o", "pulled", "--json"])
        #expect(pull.0 == 2)

        let prune = try failure(["cache", "prune", "--cache-dir", scratch.path("a-file"), "--json"])
        #expect(prune.0 == 1)
        let info = try failure(["cache", "info", "--cache-dir", scratch.path("a-file"), "--json"])
        #expect(info.0 == 1)
    }
}

extension AfterParsingErrorTests {
    /// A `platforms:` plan: `kiln lock` names each platform's entry as the
    /// lock file keys it; a build names the platform on every line.
    @Test func everyPlatformIsNamed() throws {
        try scratch.write("multi.yaml", """
            kiln: 1
            name: example.com/e2e/multi
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: rt
                type: packages
                sources: [{ dir: debs }]
                names: [tzdat, curl=1.0]

            """)
        let lock = try Tools.kiln(["lock", "multi.yaml", "--cache-dir", scratch.path("cache")], in: scratch.path)
        #expect(lock.status == 1)
        #expect(lock.stderrLines == ["amd64", "arm64"].flatMap { architecture in [
            "multi.yaml:8:13: error: layer \"rt@linux/\(architecture)\": package \"tzdat\" is not in any source (did you mean \"tzdata\"?)",
            "multi.yaml:8:20: error: layer \"rt@linux/\(architecture)\": no version of \"curl\" satisfies \"curl (= 1.0)\"; available: 2.0",
        ] }, "\(lock.stderr)")
        let build = try Build.run(["multi.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(build.status == 1)
        let errors = build.stderrLines.filter { $0.contains(": error: ") }
        #expect(errors.count == 2, "\(build.stderr)")
        #expect(errors.allSatisfy { $0.hasSuffix(" (building linux/amd64)") } || errors.allSatisfy { $0.hasSuffix(" (building linux/arm64)") }, "\(errors)")
    }
}
