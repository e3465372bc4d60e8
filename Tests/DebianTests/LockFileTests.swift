import Foundation
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport
@testable import Debian

@Suite struct LockFileTests {
    static let sha = String(repeating: "ab", count: 32)

    static func plan(directory: String = "/work/app", layers: [LayerSpec], architecture: String = "amd64") -> ImageBuildPlan {
        ImageBuildPlan(
            file: "app.yaml", directory: directory, context: directory, name: "example.invalid/app", tag: "latest",
            base: .scratch, platform: Platform(os: "linux", architecture: architecture), created: Timestamp(secondsSinceEpoch: 0),
            compression: .gzip, layers: layers, config: RuntimeConfig(), annotations: [:])
    }

    static func packagesLayer(_ name: String, names: [String], sources: [PackageSource] = [.system]) -> LayerSpec {
        LayerSpec(
            name: name, strategy: .packages(PackagesLayer(names: names, sources: sources, resolve: .transitive, exclude: [])),
            location: SourceLocation(file: "app.yaml", line: 1, column: 1))
    }

    @Test(arguments: [("app.yaml", "app.lock.json"), ("dir/app.yml", "dir/app.lock.json"), ("/abs/plan", "/abs/plan.lock.json")])
    func path(plan: String, lock: String) {
        #expect(LockFile.path(forPlan: plan) == lock)
    }

    @Test func encodesOnePackagePerLineAndRoundTrips() throws {
        let inputs = ContentDigest(sha256Bytes: [UInt8](repeating: 1, count: 32))
        let lock = LockFile(layers: [
            "runtime": LockedLayer(inputs: inputs, packages: [
                LockedPackage(name: "b", version: "1:2.0-1", architecture: "amd64", url: "http://x.invalid/b/b.deb", size: 10, sha256: Self.sha),
                LockedPackage(name: "a", version: "1", architecture: "all", url: "debs/a \"q\".deb", size: 0, sha256: Self.sha),
            ]),
            "empty": LockedLayer(inputs: inputs, packages: []),
        ])
        let text = String(decoding: lock.encoded(), as: UTF8.self)
        #expect(text == """
        {
          "kiln_lock": 1,
          "layers": {
            "empty": {
              "inputs": "\(inputs)",
              "packages": []
            },
            "runtime": {
              "inputs": "\(inputs)",
              "packages": [
                {"architecture":"amd64","name":"b","sha256":"\(Self.sha)","size":10,"url":"http://x.invalid/b/b.deb","version":"1:2.0-1"},
                {"architecture":"all","name":"a","sha256":"\(Self.sha)","size":0,"url":"debs/a \\"q\\".deb","version":"1"}
              ]
            }
          }
        }

        """)
        #expect(try LockFile.decode(lock.encoded(), path: "x") == lock)
        #expect(String(decoding: LockFile().encoded(), as: UTF8.self) == "{\n  \"kiln_lock\": 1,\n  \"layers\": {}\n}\n")
        // Every line but the packages' is plain canonical JSON once joined:
        // the file is valid JSON a generic parser reads.
        let object = try JSONSerialization.jsonObject(with: Data(lock.encoded())) as? [String: Any]
        #expect(object?["kiln_lock"] as? Int == 1)
    }

    @Test func packagesDigestIgnoresURLs() throws {
        let inputs = ContentDigest(sha256Bytes: [UInt8](repeating: 1, count: 32))
        let package = LockedPackage(name: "a", version: "1", architecture: "all", url: "http://one.invalid/a.deb", size: 3, sha256: Self.sha)
        var moved = package
        moved.url = "http://two.invalid/a.deb"
        let digest = LockedLayer(inputs: inputs, packages: [package]).packagesDigest
        #expect(digest == LockedLayer(inputs: inputs, packages: [moved]).packagesDigest)
        var bumped = package
        bumped.version = "2"
        #expect(digest != LockedLayer(inputs: inputs, packages: [bumped]).packagesDigest)
        // Derived independently: the canonical list hashed by sha256sum.
        if try Requirement.tools("sha256sum").isMet() {
            let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-digest")
            defer { temporaryDirectory.remove() }
            let directory = temporaryDirectory.path
            try Files.write(#"[{"architecture":"all","name":"a","sha256":"\#(Self.sha)","size":3,"version":"1"}]"#, to: directory + "/list.json")
            #expect(digest.description == "sha256:" + (try Tools.run(["sha256sum", directory + "/list.json"]).prefix(64)))
        }
    }

    @Test func writeAndRead() throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-lock")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let lock = LockFile(layers: ["x": LockedLayer(inputs: ContentDigest(sha256Bytes: [UInt8](repeating: 2, count: 32)), packages: [])])
        try lock.write(to: directory + "/app.lock.json")
        #expect(try LockFile.read(from: directory + "/app.lock.json") == lock)
    }

    @Test(arguments: [
        ("", "l.json: not valid JSON"),
        ("{\"kiln_lock\": 2, \"layers\": {}}", "l.json: format version 2; this kiln reads version 1"),
        ("{\"layers\": {}}", "l.json: missing \"kiln_lock\""),
        ("{\"kiln_lock\": 1, \"layers\": {\"x\": {\"inputs\": \"md5:1\", \"packages\": []}}}", "l.json: layer \"x\": inputs: invalid digest \"md5:1\" (expected sha256: and 64 lowercase hex digits)"),
        ("{\"kiln_lock\": 1, \"layers\": {\"x\": {\"inputs\": \"sha256:\(String(repeating: "0", count: 64))\", \"packages\": [{\"name\": \"a\", \"version\": \"1\", \"architecture\": \"all\", \"url\": \"u\", \"size\": 1, \"sha256\": \"XYZ\"}]}}}", "l.json: layer \"x\": package a: sha256 is not 64 lowercase hex digits"),
        ("{\"kiln_lock\": 1, \"layers\": {\"x\": {\"inputs\": \"sha256:\(String(repeating: "0", count: 64))\", \"packages\": [{\"name\": \"a\"}]}}}", "l.json: missing \"version\" at layers.x.packages.0"),
    ])
    func malformed(text: String, message: String) {
        #expect { try LockFile.decode(Array(text.utf8), path: "l.json") } throws: { ($0 as? LockFileError)?.description == message }
    }

    @Test func missingFile() {
        #expect { try LockFile.read(from: "/nonexistent/app.lock.json") } throws: {
            ($0 as? LockFileError)?.description == "/nonexistent/app.lock.json: no lock file; run `kiln lock` to resolve the packages and write it"
        }
    }

    @Test func inputsDigestIsCanonicalAndPortable() throws {
        let layer = PackagesLayer(names: ["a", "b (>= 1)"], sources: [.directory("/work/app/debs"), .system], resolve: .transitive, exclude: ["c"])
        let digest = try PackagesStrategy.inputsDigest(of: layer, plan: Self.plan(layers: []))
        let moved = try PackagesStrategy.inputsDigest(
            of: PackagesLayer(names: ["a", "b (>= 1)"], sources: [.directory("/elsewhere/app/debs"), .system], resolve: .transitive, exclude: ["c"]),
            plan: Self.plan(directory: "/elsewhere/app", layers: []))
        #expect(digest == moved)
        // Derived independently: the canonical document hashed by sha256sum.
        let document = #"{"architecture":"amd64","exclude":["c"],"names":["a","b (>= 1)"],"resolve":"transitive","sources":[{"dir":"debs"},"system"]}"#
        if try Requirement.tools("sha256sum").isMet() {
            let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-digest")
            defer { temporaryDirectory.remove() }
            let directory = temporaryDirectory.path
            try Files.write(document, to: directory + "/doc.json")
            let hex = try Tools.run(["sha256sum", directory + "/doc.json"]).split(separator: " ")[0]
            #expect(digest.description == "sha256:" + hex)
        }
        let arm = try PackagesStrategy.inputsDigest(of: layer, plan: Self.plan(layers: [], architecture: "arm64"))
        #expect(arm != digest)
    }

    @Test func stalenessNamesEveryLayer() throws {
        let runtime = Self.packagesLayer("runtime", names: ["a"])
        let tools = Self.packagesLayer("tools", names: ["b"])
        let plan = Self.plan(layers: [runtime, tools])
        guard case .packages(let runtimeLayer) = runtime.strategy else { return }
        let fresh = LockedLayer(inputs: try PackagesStrategy.inputsDigest(of: runtimeLayer, plan: plan), packages: [])
        let lock = LockFile(layers: ["runtime": fresh, "gone": fresh])
        #expect(try lock.layer(runtime, plan: plan) == fresh)
        #expect(try lock.layer(tools, plan: plan) == nil)
        #expect { try lock.verify(plan: plan, path: "app.lock.json") } throws: {
            ($0 as? LockFileError)?.description == "app.lock.json: the lock file is stale for layers \"tools\", \"gone\" (the plan's packages inputs changed); run `kiln lock`"
        }
        let exact = LockFile(layers: ["runtime": fresh, "tools": LockedLayer(inputs: try PackagesStrategy.inputsDigest(of: PackagesLayer(names: ["b"], sources: [.system], resolve: .transitive, exclude: []), plan: plan), packages: [])])
        try exact.verify(plan: plan, path: "app.lock.json")
    }
}
