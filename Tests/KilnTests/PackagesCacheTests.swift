import Foundation
import Glibc
import Testing
import TestSupport

/// Issue 20: an unlocked packages layer whose repositories have not
/// changed and whose resolution is the same is served from the cache (one
/// 304 per InRelease, indexes from the download cache), and a locked and
/// an unlocked build of the same resolution share the entry.
@Suite(.requires(.kilnBinary, .tools("gpg", "dpkg-deb", "dpkg-scanpackages", "python3")))
struct PackagesCacheTests {
    let scratch: TemporaryDirectory
    let repository: LoggedRepository

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-packages-cache")
        repository = try LoggedRepository(in: scratch)
        try scratch.write("plan.yaml", repository.plan("cached", names: "[hello]", more: """
              - name: motd
                type: files
                files: [{ path: /etc/motd, content: "hi\\n" }]

            """))
    }

    struct Report: Decodable {
        struct Layer: Decodable { var name: String; var cached: Bool; var digest: String }
        var layers: [Layer]
        var manifest_digest: String
    }

    func build(_ extra: [String] = []) throws -> Report {
        let result = try Build.run(["plan.yaml", "-o", "out", "--json"] + extra, in: scratch.path)
        guard result.succeeded else { throw TestSupportError("kiln build failed: \(result.stderr)") }
        return try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
    }

    @Test func anUnchangedUnlockedLayerIsCachedAndSharedWithALockedBuild() throws {
        let first = try build()
        #expect(first.layers.map(\.cached) == [false, false])
        let firstRequests = try repository.requests()
        #expect(firstRequests.contains("GET /dists/test/InRelease 200"), "\(firstRequests)")
        #expect(firstRequests.contains("GET /pool/hello_1.0_amd64.deb 200"), "\(firstRequests)")

        // Nothing changed: one conditional request, answered 304; the
        // layer comes from the cache (no .deb fetched, nothing unpacked).
        let second = try build()
        #expect(second.layers.map(\.cached) == [true, true])
        #expect(second.manifest_digest == first.manifest_digest)
        let secondRequests = try repository.requests()
        #expect(secondRequests == ["GET /dists/test/InRelease 304"], "\(secondRequests)")

        // `kiln lock`, then `--locked`: the same resolution, the same entry.
        let lock = try Tools.execute([KilnBinary.path, "lock", "plan.yaml"], in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        #expect(lock.status == 0, "\(lock.stderr)")
        _ = try repository.requests()
        let locked = try build(["--locked"])
        #expect(locked.layers.map(\.cached) == [true, true])
        #expect(locked.manifest_digest == first.manifest_digest)
        #expect(try repository.requests().isEmpty)
    }

    /// A repository that changed is read again and the new resolution built.
    @Test func aChangedRepositoryIsReadAgain() throws {
        let first = try build()
        _ = try repository.requests()
        // A new InRelease (re-signed: its ETag changes); same packages.
        try Tools.run(["bash", "-c", "cd repo/dists/test && echo 'Label: changed' >> Release && GNUPGHOME=$PWD/../../../gnupg gpg --batch --yes --clearsign -o InRelease Release && gpgconf --kill gpg-agent || true"], in: scratch.path)
        let second = try build()
        let changed = try repository.requests()
        #expect(changed.contains("GET /dists/test/InRelease 200"), "\(changed)")
        // The resolution is the same: the layer is still the cached one.
        #expect(second.layers.map(\.cached) == [true, true])
        #expect(second.manifest_digest == first.manifest_digest)
    }
}
