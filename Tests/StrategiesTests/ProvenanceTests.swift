import Archive
import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
@testable import Strategies

@Suite struct ProvenanceTests {
    static let package = Provenance.Origin.package(Provenance.Package(name: "tzdata", version: "2024a-0+deb12u1", architecture: "all", sha256: String(repeating: "ab", count: 32)))
    static let entry = Provenance.Origin.filesEntry(Provenance.FilesEntry(path: "/opt/app", kind: .source, source: "app"))

    @Test func anExactRecordWinsOverTheClosestTreeAndSynthesizedParentsHaveNone() throws {
        var provenance = Provenance()
        let tree = provenance.add(Self.entry)
        let exact = provenance.add(Self.package)
        provenance.assignTree("opt/app", to: tree)
        provenance.assign("opt/app/bin/tool", to: exact)
        #expect(provenance.origin(of: "opt/app") == Self.entry)
        #expect(provenance.origin(of: "/opt/app/lib/deep/x.so") == Self.entry)
        #expect(provenance.origin(of: "opt/app/bin/tool") == Self.package)
        #expect(provenance.origin(of: "opt") == nil)
        // A sibling whose name merely starts the same is not below the tree.
        #expect(provenance.origin(of: "opt/application") == nil)
        #expect(provenance.sourcePath(of: "opt/app/lib/deep/x.so") == "app/lib/deep/x.so")
        #expect(provenance.sourcePath(of: "opt/app") == "app")
        #expect(provenance.sourcePath(of: "opt/app/bin/tool") == nil)
    }

    @Test func theRootTreeCoversTheWholeLayer() {
        var provenance = Provenance()
        let build = Provenance.Origin.build(Provenance.Build(command: ["make"], inputs: [Provenance.Build.Input(path: ".", digest: nil)]))
        provenance.assignTree("", to: provenance.add(build))
        #expect(provenance.origin(of: "usr/bin/app") == build)
        #expect(provenance.origin(of: "usr") == build)
    }

    @Test func itRoundTripsThroughCanonicalJSONWithOneKeyPerOrigin() throws {
        var provenance = Provenance()
        provenance.assignTree("opt/app", to: provenance.add(Self.entry))
        provenance.assign("usr/share/zoneinfo/UTC", to: provenance.add(Self.package))
        provenance.assignTree("nix/store/x-y", to: provenance.add(.storePath(Provenance.StorePath(path: "/nix/store/x-y"))))
        provenance.assign("bin", to: provenance.add(.generated(Provenance.Generated(reason: "usr-merge"))))
        let bytes = try CanonicalJSONEncoder().encode(provenance)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"{"files_entry":{"kind":"source","path":"/opt/app","source":"app"}}"#))
        #expect(text.contains(#""paths":{"bin":3,"usr/share/zoneinfo/UTC":1}"#))
        #expect(try JSONDecoder().decode(Provenance.self, from: Data(bytes)) == provenance)
        let twoKinds = Data(#"{"origins":[{"package":{"name":"a","version":"1","architecture":"all","sha256":"00"},"store_path":{"path":"/x"}}],"paths":{},"trees":{}}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Provenance.self, from: twoKinds) }
    }

    @Test(arguments: [
        ("/work/app/config/a.yaml", "/work/app", "config/a.yaml"),
        ("/work/app", "/work/app", "."),
        ("/work/shared/x", "/work/app", "../shared/x"),
        ("/etc/passwd", "/work/app", "../../etc/passwd"),
    ])
    func hostPathsAreRelativeNeverAbsolute(_ path: String, _ base: String, _ expected: String) {
        #expect(Provenance.hostPath(path, relativeTo: base) == expected)
    }

    @Test func aFilesLayerRecordsEachEntryWithItsSourceRelativeToTheContext() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try temporaryDirectory.write("site/css/a.css", "body{}")
        try temporaryDirectory.write("app.conf", "conf")
        let layer = try FilesStrategyTests.prepare("""
              - name: files
                type: files
                files:
                  - { path: /srv/www, source: site }
                  - { path: /etc/app.conf, source: app.conf }
                  - { path: /etc/motd, content: "hello\\n" }
                  - { path: /srv/www/extra, symlink: css }
                  - { path: /var/lib/app, directory: true }
            """, in: directory)
        let provenance = layer.provenance
        let site = Provenance.Origin.filesEntry(Provenance.FilesEntry(path: "/srv/www", kind: .source, source: "site"))
        #expect(provenance.origin(of: "srv/www/css/a.css") == site)
        #expect(provenance.sourcePath(of: "srv/www/css/a.css") == "site/css/a.css")
        #expect(provenance.origin(of: "srv/www/extra") == .filesEntry(Provenance.FilesEntry(path: "/srv/www/extra", kind: .symlink)))
        #expect(provenance.sourcePath(of: "etc/app.conf") == "app.conf")
        #expect(provenance.origin(of: "etc/motd") == .filesEntry(Provenance.FilesEntry(path: "/etc/motd", kind: .content)))
        #expect(provenance.origin(of: "var/lib/app") == .filesEntry(Provenance.FilesEntry(path: "/var/lib/app", kind: .directory)))
        #expect(provenance.origin(of: "etc") == nil)
        // Every entry of the tree but the synthesized parents has an origin,
        // and no recorded host path is absolute.
        let unaccounted = try layer.tree.sortedEntries().map(\.path).filter { provenance.origin(of: $0) == nil }
        #expect(unaccounted == ["etc", "srv", "var", "var/lib"])
        #expect(!String(decoding: try CanonicalJSONEncoder().encode(provenance), as: UTF8.self).contains(directory))
    }

    @Test func aBuildLayerRecordsItsCommandAndInputDigestsForEveryPath() async throws {
        let fixture = try BuildFixture()
        try fixture.write("src/a.txt", "a\n")
        var context = fixture.strategyContext()
        let digest = try ContentDigest(parsing: "sha256:" + String(repeating: "5e", count: 32))
        context.inputDigests = [fixture.context + "/src": digest]
        let layer = BuildLayer(command: .shell("mkdir -p \"$KILN_OUT/out\" && cp src/a.txt \"$KILN_OUT/out/\""),
                               inputs: [fixture.input("src"), fixture.input(".")], workdir: nil, env: [:], sandbox: .none, timeout: nil)
        let prepared = try await BuildStrategy(layer, toolSearchPath: "").prepare(context)
        defer { prepared.temporaryDirectories.forEach(TreeRemoval.remove) }
        let expected = Provenance.Origin.build(Provenance.Build(
            command: ["/bin/sh", "-c", "mkdir -p \"$KILN_OUT/out\" && cp src/a.txt \"$KILN_OUT/out/\""],
            inputs: [Provenance.Build.Input(path: "src", digest: digest), Provenance.Build.Input(path: ".", digest: nil)]))
        for entry in try prepared.tree.sortedEntries() {
            #expect(prepared.provenance.origin(of: entry.path) == expected, "\(entry.path)")
        }
        #expect(prepared.provenance.origins.count == 1)
    }

    @Test func aDerivationLayerRecordsEachStorePathOfTheClosure() async throws {
        let fake = try FakeStore()
        let prepared = try await fake.prepare(fake.store + "/" + FakeStore.app)
        let storePaths = Set(prepared.provenance.origins.compactMap { origin -> String? in
            if case .storePath(let store) = origin { store.path } else { nil }
        })
        #expect(storePaths == Set([FakeStore.app, FakeStore.lib, FakeStore.data, FakeStore.big].map { fake.store + "/" + $0 }))
        let libFile = String(fake.store.dropFirst()) + "/" + FakeStore.lib + "/lib/libfoo.so"
        #expect(prepared.provenance.origin(of: libFile) == .storePath(Provenance.StorePath(path: fake.store + "/" + FakeStore.lib)))
        for entry in try prepared.tree.sortedEntries() where entry.path.hasPrefix(String(fake.store.dropFirst()) + "/") {
            #expect(prepared.provenance.origin(of: entry.path) != nil, "\(entry.path)")
        }
    }
}
