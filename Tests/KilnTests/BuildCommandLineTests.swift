import Glibc
import KilnCore
import Foundation
import Testing
import TestSupport

/// `kiln build` as a script sees it: exit codes 0, 1 and 2, human output on
/// stderr only, and with `--json` exactly one JSON document on stdout.
@Suite struct BuildCommandLineTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-cli")
        try scratch.write("plan.yaml", """
            kiln: 1
            name: example.com/e2e/cli
            tag: "7"
            layers:
              - name: motd
                type: files
                files:
                  - { path: /etc/motd, content: "hello\\n" }
              - name: tools
                type: files
                files:
                  - { path: /usr/bin/tool, content: "#!/bin/sh\\n", mode: "0755" }

            """)
        try scratch.write("bad.yaml", "kiln: 1\nname: App\n")
    }

    struct Report: Decodable {
        struct Layer: Decodable {
            var name: String
            var strategy: String
            var entries: Int
            var uncompressed_size: Int
            var compressed_size: Int
            var diff_id: String
            var digest: String
            var cached: Bool
        }

        var image: String
        var manifest_digest: String
        var config_digest: String
        var layers: [Layer]
        var output: String?
        var tar: String?
    }

    @Test func successExitsZeroWithHumanOutputOnStderrOnly() throws {
        let result = try Build.run(["plan.yaml", "-o", "out"], in: scratch.path)
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        let layout = try BuiltLayout(scratch.path("out"))
        // Per layer, within 100 columns under one header: name, strategy,
        // entries, diff_id and digest (12 hex digits); then the manifest.
        #expect(result.stderrLines.contains { $0.hasPrefix("layer ") && $0.contains("diff_id") && $0.contains("digest") })
        for (index, name) in ["motd", "tools"].enumerated() {
            let line = try #require(result.stderrLines.first { $0.hasPrefix(name + " ") }, "no line for layer \(name)")
            #expect(line.contains("files"))
            #expect(line.contains(" " + String(layout.config.rootfs.diff_ids[index].dropFirst(7).prefix(12)) + " "))
            #expect(line.contains(" " + String(layout.manifest.layers[index].digest.dropFirst(7).prefix(12)) + " "))
            #expect(line.count <= 100, "\(line.count) columns: \(line)")
        }
        #expect(result.stderrLines.contains { $0.contains("2 entries") })
        #expect(result.stderrLines.contains("manifest \(layout.index.manifests[0].digest)"))
        #expect(result.stderrLines.contains("image example.com/e2e/cli:7"))
    }

    /// `--progress` takes the four modes of SPEC §4 and nothing else; every
    /// mode still prints the layer summaries.
    @Test(arguments: ["auto", "tty", "plain", "none"])
    func progressModes(mode: String) throws {
        let result = try Build.run(["plan.yaml", "-o", "out-\(mode)", "--progress", mode], in: scratch.path)
        #expect(result.status == 0, "\(result.stderr)")
        // (tty redraws: escape sequences may stand before a line.)
        #expect(result.stderr.contains("motd         files"), "\(result.stderr)")
        // Only plain prints a line as each layer starts.
        #expect(result.stderrLines.contains("[motd] files: started") == (mode == "plain"), "\(result.stderr)")
    }

    /// SPEC §4: with live progress each running layer's line has a bar and
    /// percentage of its size, known before it streams, bytes done of the
    /// total, throughput and, once bytes move, an ETA.
    @Test func liveLayerLinesShowABarBytesThroughputAndETA() throws {
        try scratch.write("big/plan.yaml", """
            kiln: 1
            name: example.com/e2e/big
            compression: gzip
            layers:
              - name: blob
                type: files
                files:
                  - { path: /data, source: data }

            """)
        var state: UInt64 = 42
        var bytes = [UInt8](repeating: 0, count: 24 << 20)
        for index in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 59) + 0x61
        }
        try Data(bytes).write(to: URL(fileURLWithPath: scratch.path("big/data")))
        let result = try Build.run(["big/plan.yaml", "-o", "big-out", "--progress", "tty", "--no-cache"], in: scratch.path)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map { $0.replacingOccurrences(of: "\u{1B}[J", with: "") }
        let live = lines.filter { $0.contains("blob (files) [") }
        #expect(!live.isEmpty, "\(result.stderr)")
        #expect(live.allSatisfy { $0.contains("% ") && $0.contains(" / 24.0 MiB") && $0.contains("/s") }, "\(live)")
        #expect(live.contains { $0.contains("ETA ") } || live.count == 1, "\(live)")
    }

    /// A build that fails after parsing still answers `--json` with one
    /// document naming the layer and its place in the plan.
    @Test func aFailedBuildAnswersJSONWithTheLayerAndItsLocation() throws {
        try scratch.write("fails.yaml", """
            kiln: 1
            name: example.com/e2e/fails
            layers:
              - name: broken
                type: build
                command: exit 3

            """)
        let result = try Build.run(["fails.yaml", "-o", "out", "--json"], in: scratch.path)
        #expect(result.status == 1)
        #expect(result.stdoutLines.count == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let error = try #require(document["error"] as? [String: Any])
        #expect(error["layer"] as? String == "broken")
        #expect(error["file"] as? String == "fails.yaml")
        #expect(error["line"] as? Int == 4)
        #expect((error["message"] as? String)?.hasPrefix("layer \"broken\": command exited with status 3") == true)
    }

    /// A layer's notes are news once: printed when it is built, wrapped at
    /// 100 columns, and not again when it comes from the cache.
    @Test(.requires(.tools("dpkg-deb")))
    func notesAreWrappedAndPrintedOnlyWhenTheLayerIsBuilt() throws {
        var names: [String] = []
        for index in 1...12 {
            let name = "kiln-demo-package-with-a-long-name-\(index)"
            names.append(name)
            try scratch.write("pkgs/\(name)/DEBIAN/control", "Package: \(name)\nVersion: 1.0\nArchitecture: all\nMaintainer: kiln <kiln@example.com>\nDescription: test\n")
            try scratch.write("pkgs/\(name)/DEBIAN/postinst", "#!/bin/sh\nexit 0\n")
            chmod(scratch.path("pkgs/\(name)/DEBIAN/postinst"), 0o755)
            try scratch.write("pkgs/\(name)/usr/share/\(name)/README", "demo\n")
            try scratch.directory("pkgs/debs", mode: 0o755)
            try Tools.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", scratch.path("pkgs/\(name)"), scratch.path("pkgs/debs/\(name)_1.0_all.deb")])
        }
        try scratch.write("pkgs/plan.yaml", """
            kiln: 1
            name: example.com/e2e/notes
            layers:
              - name: pkgs
                type: packages
                names: [\(names.joined(separator: ", "))]
                sources: [{ dir: debs }]

            """)
        // Locked, so the second build is served from the cache.
        let lock = try Tools.execute([KilnBinary.path, "lock", "pkgs/plan.yaml"], in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        #expect(lock.status == 0, "\(lock.stderr)")
        let built = try Build.run(["pkgs/plan.yaml", "-o", "out"], in: scratch.path)
        #expect(built.status == 0, "\(built.stderr)")
        let noteLines = built.stderrLines.drop { !$0.hasPrefix("[pkgs] note: maintainer scripts not run") }.prefix { !$0.hasPrefix("image ") }
        #expect(noteLines.count > 1, "\(built.stderr)")
        #expect(noteLines.allSatisfy { $0.count <= 100 }, "\(built.stderr)")
        #expect(noteLines.dropFirst().allSatisfy { $0.hasPrefix("  ") })
        let cached = try Build.run(["pkgs/plan.yaml", "-o", "out"], in: scratch.path)
        #expect(cached.status == 0)
        #expect(cached.stderrLines.contains { $0.hasPrefix("pkgs ") && $0.contains("cached") }, "\(cached.stderr)")
        #expect(!cached.stderr.contains("[pkgs] note:"), "\(cached.stderr)")
    }

    /// A mistyped command is a usage error naming the closest command.
    @Test func aMistypedCommandSuggestsTheClosest() throws {
        let result = try Tools.kiln(["biuld", "plan.yaml"], in: scratch.path)
        #expect(result.status == 2)
        #expect(result.stderrLines.first == "Error: unknown command \"biuld\" (did you mean \"build\"?); the commands are build, push, pull, lock, validate, plan, diff, inspect, export, sbom, schema, cache")
    }

    @Test func anUnknownProgressModeIsAUsageError() throws {
        let result = try Build.run(["plan.yaml", "-o", "out", "--progress", "fancy"], in: scratch.path)
        #expect(result.status == 2)
        #expect(result.stderr.contains("fancy"))
    }

    @Test func jsonPrintsExactlyOneDocumentOnStdout() throws {
        let result = try Build.run(["plan.yaml", "-o", "out", "--tar", "out.tar", "--json"], in: scratch.path)
        #expect(result.status == 0)
        // One line, one document, nothing else.
        #expect(result.stdout.hasSuffix("\n"))
        #expect(result.stdoutLines.count == 1)
        #expect(try CanonicalJSON.isCanonical(Array(result.stdout.dropLast().utf8)))
        let report = try JSONDecoder().decode(Report.self, from: Data(result.output))
        let layout = try BuiltLayout(scratch.path("out"))
        #expect(report.image == "example.com/e2e/cli:7")
        #expect(report.manifest_digest == layout.index.manifests[0].digest)
        #expect(report.config_digest == layout.manifest.config.digest)
        #expect(report.output == scratch.path("out"))
        // Both outputs as absolute paths, however they were given.
        #expect(report.tar == scratch.path("out.tar"))
        #expect(report.layers.map(\.name) == ["motd", "tools"])
        #expect(report.layers.map(\.strategy) == ["files", "files"])
        #expect(report.layers.map(\.entries) == [2, 3])
        #expect(report.layers.map(\.diff_id) == layout.config.rootfs.diff_ids)
        #expect(report.layers.map(\.digest) == layout.manifest.layers.map(\.digest))
        #expect(report.layers.map(\.compressed_size) == layout.manifest.layers.map(\.size))
        #expect(report.layers.allSatisfy { $0.uncompressed_size % 512 == 0 && $0.uncompressed_size > $0.compressed_size })
        // The human summary still goes to stderr.
        #expect(result.stderrLines.contains("manifest \(report.manifest_digest)"))
    }

    @Test func withoutAnOutputTheImageIsBuiltButNothingWritten() throws {
        // Build.run keeps the layer cache in `.cache` here; that may change.
        func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0 != ".cache" }.sorted() }
        let before = try listing()
        let result = try Build.run(["plan.yaml", "--json"], in: scratch.path)
        #expect(result.status == 0)
        #expect(try listing() == before)
        #expect(result.stderrLines.contains("nothing written (no -o or --tar)"))
        let report = try JSONDecoder().decode(Report.self, from: Data(result.output))
        #expect(report.output == nil && report.tar == nil)
        // The same image a build with -o writes.
        let written = try Build.run(["plan.yaml", "-o", "out"], in: scratch.path)
        #expect(written.status == 0)
        #expect(report.manifest_digest == (try BuiltLayout(scratch.path("out"))).index.manifests[0].digest)
    }

    @Test func planErrorsExitOneWithTheirLocations() throws {
        for json in [false, true] {
            let result = try Build.run(["bad.yaml", "-o", "out"] + (json ? ["--json"] : []), in: scratch.path)
            #expect(result.status == 1)
            #expect(result.stderrLines == [
                "bad.yaml:1:1: error: an image from scratch needs at least one layer (add layers:)",
                "bad.yaml:2:7: error: image name \"App\" must be lowercase (did you mean \"app\"?)",
            ])
            if json {
                // One document on stdout, the first error and all of them.
                #expect(result.stdoutLines.count == 1)
                let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                let error = try #require(document["error"] as? [String: Any])
                #expect(error["message"] as? String == "an image from scratch needs at least one layer (add layers:)")
                #expect(error["file"] as? String == "bad.yaml")
                #expect(error["line"] as? Int == 1)
                #expect(error["column"] as? Int == 1)
                #expect((document["errors"] as? [[String: Any]])?.count == 2)
            } else {
                #expect(result.stdout.isEmpty)
            }
            #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
        }
        let missing = try Build.run(["missing.yaml", "-o", "out"], in: scratch.path)
        #expect(missing.status == 1)
        #expect(missing.stderrLines == ["missing.yaml:1:1: error: cannot read the plan: no such file or directory"])
    }

    @Test(arguments: [
        ([String](), "Error: Missing expected argument '<plan>'"),
        (["plan.yaml", "-o", "out", "--jobs", "0"], "Error: --jobs must be at least 1"),
        (["plan.yaml", "-o", "out", "--jobs", "many"], "Error: The value 'many' is invalid for '--jobs <jobs>'"),
        (["plan.yaml", "-o", "out", "--bogus"], "Error: Unknown option '--bogus'. Did you mean '--jobs'?"),
    ])
    func usageErrorsExitTwo(arguments: [String], message: String) throws {
        let result = try Build.run(arguments, in: scratch.path)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.first == message)
        #expect(result.stderrLines.contains { $0.hasPrefix("Usage: kiln build ") && $0.hasSuffix("<plan>") })
        #expect(!FileManager.default.fileExists(atPath: scratch.path("out")))
    }
}
