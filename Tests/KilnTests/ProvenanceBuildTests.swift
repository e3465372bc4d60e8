import Foundation
@testable import Kiln
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport

/// A plan with files, build and derivation layers and the provenance its
/// build reports, fresh and from the cache.
struct ProvenanceFixture {
    let scratch: TemporaryDirectory
    var cache: String { scratch.path + "/cache" }
    var store: String { scratch.path + "/store/nix/store" }
    static let tool = "0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-tool-1.0"
    static let data = "1b9p6kq0vd2x7cmhzsfw5g3r8jyl4na0-data-2.0"

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-provenance")
        try scratch.write("plan/src/a.txt", "a\n")
        try scratch.write("plan/src/sub/b.txt", "b\n")
        try scratch.write("plan/etc/motd", "hello\n")
        try scratch.write("store/nix/store/\(Self.tool)/bin/tool", "#!/bin/sh\ncat \(store)/\(Self.data)/share/data\n", mode: 0o555)
        try scratch.write("store/nix/store/\(Self.data)/share/data", "data\n", mode: 0o444)
        try scratch.write("plan/plan.yaml", """
            kiln: 1
            name: example.com/provenance
            layers:
              - name: tree
                type: files
                files:
                  - { path: /srv, source: src }
                  - { path: /etc/motd, source: etc/motd }
                  - { path: /etc/issue, content: "kiln\\n" }
              - name: gen
                type: build
                inputs: [src]
                command: mkdir -p "$KILN_OUT/opt/gen" && cat src/a.txt src/sub/b.txt > "$KILN_OUT/opt/gen/all.txt"
              - name: nix
                type: derivation
                store_dir: \(store)
                store_path: \(store)/\(Self.tool)

            """)
    }

    func build(_ output: String, useCache: Bool = true) async throws -> BuildReport {
        let plan = try PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64"))
            .load(file: scratch.path + "/plan/plan.yaml")
        let options = BuildOptions(output: scratch.path + "/" + output, jobs: 2, useCache: useCache, cacheDirectory: cache)
        return try await ImageBuilder(plan: plan, options: options, observer: NoteCollector()).build()
    }
}

@Suite struct ProvenanceBuildTests {
    @Test func eachLayerSaysWhereItsPathsCameFromAndTheCacheKeepsIt() async throws {
        let fixture = try ProvenanceFixture()
        let cold = try await fixture.build("cold")
        #expect(cold.layers.map(\.cached) == [false, false, false])
        let (tree, gen, nix) = (cold.layers[0].provenance, cold.layers[1].provenance, cold.layers[2].provenance)

        let srv = Provenance.Origin.filesEntry(Provenance.FilesEntry(path: "/srv", kind: .source, source: "src"))
        #expect(tree.origin(of: "srv/sub/b.txt") == srv)
        #expect(tree.sourcePath(of: "srv/sub/b.txt") == "src/sub/b.txt")
        #expect(tree.sourcePath(of: "etc/motd") == "etc/motd")
        #expect(tree.origin(of: "etc/issue") == .filesEntry(Provenance.FilesEntry(path: "/etc/issue", kind: .content)))

        // The input digest is the one `kiln plan` prints: sha256sum's of
        // the directory records (here checked against a fresh digester).
        let srcDigest = try InputDigester().digest(of: fixture.scratch.path + "/plan/src")
        let build = Provenance.Origin.build(Provenance.Build(
            command: ["/bin/sh", "-c", #"mkdir -p "$KILN_OUT/opt/gen" && cat src/a.txt src/sub/b.txt > "$KILN_OUT/opt/gen/all.txt""#],
            inputs: [Provenance.Build.Input(path: "src", digest: srcDigest)]))
        #expect(gen.origin(of: "opt/gen/all.txt") == build)

        #expect(nix.origin(of: String(fixture.store.dropFirst()) + "/\(ProvenanceFixture.data)/share/data")
            == .storePath(Provenance.StorePath(path: fixture.store + "/" + ProvenanceFixture.data)))
        #expect(nix.origin(of: String(fixture.store.dropFirst()) + "/\(ProvenanceFixture.tool)/bin/tool")
            == .storePath(Provenance.StorePath(path: fixture.store + "/" + ProvenanceFixture.tool)))

        // From the cache: every layer reused, the same provenance.
        let warm = try await fixture.build("warm")
        #expect(warm.layers.map(\.cached) == [true, true, true])
        #expect(warm.layers.map(\.provenance) == cold.layers.map(\.provenance))
        // Without it, digested afresh: the same again.
        let uncached = try await fixture.build("uncached", useCache: false)
        #expect(uncached.layers.map(\.provenance) == cold.layers.map(\.provenance))
        #expect(uncached.manifestDigest == cold.manifestDigest)

        // `--json` keeps its shape: no provenance in it.
        let json = String(decoding: try CanonicalJSONEncoder().encode(cold), as: UTF8.self)
        #expect(!json.contains("files_entry") && !json.contains("origins"))
    }

    @Test func theEntryChecksumCoversTheProvenance() async throws {
        let fixture = try ProvenanceFixture()
        let first = try await fixture.build("first")
        let entries = fixture.cache + "/layers/entries/"
        let entry = try #require(try FileManager.default.contentsOfDirectory(atPath: entries).map { entries + $0 }.first {
            try Files.text($0).contains(#""source":"src""#)
        })
        // Still valid JSON and a valid provenance, naming another source.
        try Files.write(try Files.text(entry).replacingOccurrences(of: #""source":"src""#, with: #""source":"elsewhere""#), to: entry)
        let notes = NoteCollector()
        let options = BuildOptions(output: fixture.scratch.path + "/second", jobs: 2, useCache: true, cacheDirectory: fixture.cache)
        let plan = try PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64"))
            .load(file: fixture.scratch.path + "/plan/plan.yaml")
        let second = try await ImageBuilder(plan: plan, options: options, observer: notes).build()
        #expect(second.layers.map(\.cached) == [false, true, true])
        #expect(second.layers[0].provenance == first.layers[0].provenance)
        #expect(notes.notes == ["layer \"tree\": dropped a corrupt cache entry (entry \(entry) does not match its checksum); building the layer again"])
    }
}
