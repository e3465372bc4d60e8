import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
@testable import Debian

/// Whether a lock's packages entries are fresh for the plan (the inputs
/// digest) — the Debian side of the lock file; its format is PlanTests'.
@Suite struct LockFreshnessTests {
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
