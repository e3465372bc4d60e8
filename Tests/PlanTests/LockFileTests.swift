import Foundation
import KilnCore
import Plan
import Testing
import TestSupport

@Suite struct LockFileTests {
    static let sha = String(repeating: "ab", count: 32)

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

    @Test func pinsTheBaseFirstInKeyOrder() throws {
        let index = ContentDigest(sha256Bytes: [UInt8](repeating: 3, count: 32))
        let manifest = ContentDigest(sha256Bytes: [UInt8](repeating: 4, count: 32))
        let lock = LockFile(base: LockedBase(reference: "127.0.0.1:5000/team/base:1", digest: index, manifest: manifest))
        let text = String(decoding: lock.encoded(), as: UTF8.self)
        #expect(text == """
        {
          "base": {"digest":"\(index)","manifest":"\(manifest)","reference":"127.0.0.1:5000/team/base:1"},
          "kiln_lock": 1,
          "layers": {}
        }

        """)
        #expect(try LockFile.decode(lock.encoded(), path: "x") == lock)
        let bad = #"{"kiln_lock": 1, "base": {"reference": "a", "digest": "sha256:1", "manifest": "sha256:1"}, "layers": {}}"#
        #expect { try LockFile.decode(Array(bad.utf8), path: "l.json") } throws: {
            ($0 as? LockFileError)?.description == "l.json: base: invalid digest \"sha256:1\" (expected sha256: and 64 lowercase hex digits)"
        }
    }

    /// A `platforms:` plan's base pin: each platform's manifest under
    /// `manifests`, after `manifest` in key order, round-tripping.
    @Test func pinsEachPlatformsBaseManifest() throws {
        let index = ContentDigest(sha256Bytes: [UInt8](repeating: 3, count: 32))
        let amd64 = ContentDigest(sha256Bytes: [UInt8](repeating: 4, count: 32))
        let arm64 = ContentDigest(sha256Bytes: [UInt8](repeating: 5, count: 32))
        let lock = LockFile(base: LockedBase(
            reference: "127.0.0.1:5000/team/base:1", digest: index, manifest: amd64,
            platforms: ["linux/amd64": amd64, "linux/arm64": arm64]))
        let text = String(decoding: lock.encoded(), as: UTF8.self)
        #expect(text.contains(#""base": {"digest":"\#(index)","manifest":"\#(amd64)","manifests":{"linux/amd64":"\#(amd64)","linux/arm64":"\#(arm64)"},"reference":"#))
        #expect(try LockFile.decode(lock.encoded(), path: "x") == lock)
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
}
