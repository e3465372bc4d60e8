import Foundation
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport
@testable import Debian

/// End to end over the fixture repository: resolve, fetch, verify, unpack,
/// checked against dpkg-deb's own view of the packages.
@Suite(.requires(RepositoryFixture.tools))
struct PackagesStrategyTests {
    /// Scratch and cache directories for one test.
    final class Workspace {
        let directory: TemporaryDirectory
        var root: String { directory.path }
        init() throws { directory = try TemporaryDirectory(prefix: "kiln-packages") }
        var scratch: String { root + "/scratch" }
        var cache: String { root + "/cache" }

        func context(plan: ImageBuildPlan, layer: LayerSpec, log: @escaping @Sendable (String) -> Void = { _ in }) -> StrategyContext {
            StrategyContext(plan: plan, layer: layer, scratchRoot: scratch, cacheDirectory: cache, log: log)
        }
    }

    func layer(_ names: [String], sources: [PackageSource], resolve: PackagesLayer.Resolution = .transitive, exclude: [String] = []) -> PackagesLayer {
        PackagesLayer(names: names, sources: sources, resolve: resolve, exclude: exclude)
    }

    func run(_ layer: PackagesLayer, directory: String? = nil, workspace: Workspace, lock: LockedLayer? = nil) async throws -> (LockedLayer, PreparedLayer) {
        // The plan lives outside the repository unless a test says otherwise,
        // so file:// URLs stay absolute in the lock.
        let (plan, spec) = RepositoryFixture.plan(directory: directory ?? workspace.root, layer: layer)
        let context = workspace.context(plan: plan, layer: spec)
        let locked: LockedLayer
        if let lock {
            locked = lock
        } else {
            locked = try await PackagesStrategy(layer).resolve(context: context)
        }
        return (locked, try await PackagesStrategy(layer, lock: locked).prepare(context))
    }

    /// What dpkg-deb lists for a package, in layer form with /usr merged.
    struct Listed: Hashable {
        var path: String
        var type: Character
        var mode: UInt32
        var size: Int64
        var link: String?
    }

    func dpkgListing(_ deb: String) throws -> [Listed] {
        try Tools.run(["dpkg-deb", "-c", deb]).split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            let perms = Array(words[0])
            #expect(words[1] == "root/root")
            var rest = String(words[5])
            var link: String?
            if let range = rest.range(of: " -> ") ?? rest.range(of: " link to ") {
                link = String(rest[range.upperBound...])
                rest = String(rest[..<range.lowerBound])
            }
            let path = rest.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
            guard !path.isEmpty else { return nil }
            var mode: UInt32 = 0
            let bits: [(Int, Character, UInt32)] = [(1, "r", 0o400), (2, "w", 0o200), (3, "x", 0o100), (4, "r", 0o40), (5, "w", 0o20), (6, "x", 0o10), (7, "r", 0o4), (8, "w", 0o2), (9, "x", 0o1)]
            for (index, char, bit) in bits where perms[index] == char { mode |= bit }
            if perms[3] == "s" { mode |= 0o4100 } else if perms[3] == "S" { mode |= 0o4000 }
            if perms[6] == "s" { mode |= 0o2010 } else if perms[6] == "S" { mode |= 0o2000 }
            if perms[9] == "t" { mode |= 0o1001 } else if perms[9] == "T" { mode |= 0o1000 }
            return Listed(path: UsrMerge.merged(path), type: perms[0], mode: mode, size: Int64(words[2])!, link: link)
        }
    }

    @Test func fileRepositoryLayerMatchesDpkgDeb() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let (locked, prepared) = try await run(layer(["app", "ca-certificates"], sources: [fixture.source()]), workspace: workspace)
        #expect(locked.packages.map { "\($0.name)=\($0.version)/\($0.architecture)" } == [
            "base-conf=1/all", "ca-certificates=1/all", "libfoo=2.0/amd64", "mta-b=1/amd64", "app=1.0-1/amd64",
        ])
        for package in locked.packages {
            let deb = fixture.deb(package.url.replacingOccurrences(of: fixture.uri + "/", with: ""))
            #expect(package.url == fixture.uri + "/" + (package.architecture == "all" ? "pool-all/" : "pool/") + "\(package.name)_\(package.version)_\(package.architecture).deb")
            #expect(package.sha256 == String(try Tools.run(["sha256sum", deb]).prefix(64)))
            #expect(package.size == (try FileManager.default.attributesOfItem(atPath: deb)[.size] as? Int64))
        }
        let entries = try prepared.tree.sortedEntries()
        let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0) })
        var expected: Set<String> = ["bin", "lib", "sbin", "etc/ssl/certs/ca-certificates.crt", "var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/status.d"]
        for package in locked.packages {
            let deb = fixture.deb(package.url.replacingOccurrences(of: fixture.uri + "/", with: ""))
            for listed in try dpkgListing(deb) {
                expected.insert(listed.path)
                let entry = try #require(byPath[listed.path], "\(listed.path) of \(package.name)")
                #expect(entry.mode == listed.mode, "\(listed.path)")
                #expect(entry.uid == 0 && entry.gid == 0)
                switch (listed.type, entry.kind) {
                case ("d", .directory): break
                case ("-", .regular(let content)): #expect(content.size == listed.size, "\(listed.path)")
                case ("l", .symlink(let target)): #expect(target == listed.link)
                case ("h", .hardlink(let target)): #expect(target == UsrMerge.merged(String(listed.link!.dropFirst(2))))
                default: Issue.record("\(listed.path): dpkg-deb says \(listed.type), kiln has \(entry.kind)")
                }
            }
            expected.insert("var/lib/dpkg/status.d/" + package.name)
            expected.insert("var/lib/dpkg/status.d/" + package.name + ".md5sums")
            // The status file is the package's control stanza.
            guard case .regular(.bytes(let status)) = byPath["var/lib/dpkg/status.d/" + package.name]?.kind else {
                Issue.record("no status file for \(package.name)")
                continue
            }
            let ours = try Deb822Parser.parse(String(decoding: status, as: UTF8.self), source: "status")
            let dpkgs = try Deb822Parser.parse(try Tools.run(["dpkg-deb", "--field", deb]), source: "dpkg-deb")
            #expect(ours == dpkgs)
            // md5sums lines agree with md5sum over the unpacked files.
            guard case .regular(.bytes(let md5sums)) = byPath["var/lib/dpkg/status.d/" + package.name + ".md5sums"]?.kind else { continue }
            for line in String(decoding: md5sums, as: UTF8.self).split(separator: "\n") {
                let path = String(line.dropFirst(34))
                let entry = try #require(byPath[path])
                let content: String
                switch entry.kind {
                case .regular(.file(let file, _, _)): content = file
                case .hardlink(let target):
                    guard case .regular(.file(let file, _, _)) = byPath[target]?.kind else { Issue.record("hardlink \(path)"); continue }
                    content = file
                default: Issue.record("md5sums lists \(path), which is not a file"); continue
                }
                #expect(String(line.prefix(32)) == String(try Tools.run(["md5sum", content]).prefix(32)))
            }
        }
        #expect(Set(byPath.keys) == expected)
        #expect(byPath["usr/bin/app-suid"]?.mode == 0o4755)
        #expect(byPath["usr/bin/app-hard"]?.kind == .hardlink(target: "usr/bin/app"))
        #expect(byPath["usr/lib/x86_64-linux-gnu/libfoo.so.2"] != nil)
        #expect(byPath["bin"]?.kind == .symlink(target: "usr/bin"))
        #expect(byPath["lib"]?.kind == .symlink(target: "usr/lib"))
        #expect(byPath["sbin"]?.kind == .symlink(target: "usr/sbin"))
        #expect(prepared.notes == ["maintainer scripts not run: ca-certificates (postinst), app (postinst)"])
        #expect(prepared.temporaryDirectories.count == 1)
        #expect(prepared.temporaryDirectories[0].hasPrefix(workspace.scratch + "/packages-runtime-"))

        // The bundle is what update-ca-certificates appends: every .crt in
        // path order, a newline added where one is missing (`sed '$a\'`).
        let bundle = try Tools.run(["bash", "-c", "for f in $(find usr/share/ca-certificates -name '*.crt' | LC_ALL=C sort); do sed -e '$a\\' $f; done"], in: fixture.root + "/build/ca-certificates-1")
        guard case .regular(.file(let bundlePath, let size, _)) = byPath["etc/ssl/certs/ca-certificates.crt"]?.kind else {
            Issue.record("no bundle")
            return
        }
        #expect(String(decoding: FileManager.default.contents(atPath: bundlePath)!, as: UTF8.self) == bundle)
        #expect(size == Int64(bundle.utf8.count))
    }

    /// `sources: system` through a fake apt root: a deb822 source with an
    /// inline key, and a disabled one-line source that would fail.
    @Test func systemSourcesFromAnAptRoot() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let aptRoot = workspace.root + "/apt"
        let armored = try String(contentsOfFile: fixture.armoredKeyring, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? " ." : " " + $0 }.joined(separator: "\n")
        try Files.write("Types: deb\nURIs: \(fixture.uri)\nSuites: test\nComponents: main\nSigned-By:\n\(armored)\n", to: aptRoot + "/etc/apt/sources.list.d/fixture.sources")
        try Files.write("# deb http://unreachable.invalid/debian x main\n", to: aptRoot + "/etc/apt/sources.list")
        let packages = layer(["mta-b"], sources: [.system])
        let (plan, spec) = RepositoryFixture.plan(directory: workspace.root, layer: packages)
        let locked = try await PackagesStrategy(packages, aptRoot: aptRoot).resolve(context: workspace.context(plan: plan, layer: spec))
        #expect(locked.packages.map(\.url) == [fixture.uri + "/pool/mta-b_1_amd64.deb"])
    }

    @Test func selfReferentialCompatLinksGiveWayToTheFile() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let (_, prepared) = try await run(layer(["compat"], sources: [fixture.source()]), workspace: workspace)
        let entry = try #require(prepared.tree["usr/sbin/tool"])
        guard case .regular = entry.kind else {
            Issue.record("usr/sbin/tool should be the file, not the /sbin/tool link")
            return
        }
    }

    @Test func notScratchBaseGetsNoUsrMergeLinks() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let packages = layer(["mta-b"], sources: [fixture.source()])
        let (plan, spec) = RepositoryFixture.plan(directory: fixture.root, layer: packages, base: .ociLayout(path: "/base", ref: nil))
        let prepared = try await PackagesStrategy(packages).prepare(workspace.context(plan: plan, layer: spec))
        #expect(prepared.tree["sbin"] == nil)
        #expect(prepared.tree["usr/sbin/sendmail"] != nil)
        #expect(prepared.notes.isEmpty)
    }

    @Test func identicalFilesAndSharedDirectoriesAreFine() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let (_, prepared) = try await run(layer(["same-a", "same-b"], sources: [fixture.source()]), workspace: workspace)
        #expect(prepared.tree["etc/same"] != nil)
        #expect(prepared.tree["etc/shared"]?.kind == .directory)
    }

    @Test func conflictingFilesNameBothPackages() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        await #expect {
            try await run(layer(["clash-a", "clash-b"], sources: [fixture.source()]), workspace: workspace)
        } throws: { ($0 as? DebArchiveError)?.description == "packages clash-a and clash-b both ship /etc/clash with different content" }
    }

    @Test func armoredKeyringAndArchitectureAllIndex() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let (locked, _) = try await run(layer(["web", "server-one"], sources: [fixture.source(signedBy: fixture.armoredKeyring)]), workspace: workspace)
        #expect(locked.packages.map(\.name) == ["server-one", "web"])
    }

    @Test(arguments: [
        (["httpd"], "\"httpd\" is a virtual package provided by server-one, server-two; name one of them in names"),
        (["web"], "\"httpd\" is a virtual package provided by server-one, server-two; name one of them in names (web 1 depends on \"httpd\")"),
        (["no-such-package"], "package \"no-such-package\" is not in any source"),
        (["libfoo (>= 3)"], "no version of \"libfoo\" satisfies \"libfoo (>= 3)\"; available: 2.0, 1.0"),
    ])
    func resolutionErrors(names: [String], message: String) async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        await #expect {
            try await run(layer(names, sources: [fixture.source()]), workspace: workspace)
        } throws: { ($0 as? ResolutionError)?.description == message }
    }

    @Test func wrongKeyringIsRejected() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        await #expect {
            try await run(layer(["app"], sources: [fixture.source(signedBy: fixture.wrongKeyring)]), workspace: workspace)
        } throws: {
            ($0 as? RepositoryError)?.description
                == "\(fixture.uri)/dists/test/InRelease: no valid signature by a key of \(fixture.wrongKeyring) (signed by key \(fixture.keyID), which is not in the keyring)"
        }
    }

    @Test func noKeyringNeedsAllowUnsigned() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(signedBy: .some(nil))]), workspace: workspace)
        } throws: {
            ($0 as? RepositoryError)?.description
                == "\(fixture.uri) test: no keyring to verify InRelease with; set signed_by to a keyring file, or allow_unsigned: true to trust the repository without a signature"
        }
        let (locked, _) = try await run(layer(["mta-b"], sources: [fixture.source(signedBy: .some(nil), allowUnsigned: true)]), workspace: workspace)
        #expect(locked.packages.map(\.name) == ["mta-b"])
    }

    @Test func unsignedRepositoryWithoutInReleaseReadsRelease() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let copyDirectory = try fixture.copyRepository()
        defer { copyDirectory.remove() }
        let copy = copyDirectory.path
        try FileManager.default.removeItem(atPath: copy + "/dists/test/InRelease")
        let (locked, _) = try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy, signedBy: .some(nil), allowUnsigned: true)]), workspace: workspace)
        #expect(locked.packages.map(\.name) == ["mta-b"])
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy)]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "GET file://\(copy)/dists/test/InRelease: HTTP 404" }
    }

    /// A copy of the repository whose suite "test" is unsigned, with a
    /// Release written by `edit` (a shell snippet run in dists/test).
    func unsignedCopy(_ edit: String) throws -> TemporaryDirectory {
        let copy = try RepositoryFixture.shared().copyRepository()
        try Tools.run(["bash", "-c", "set -e; rm InRelease; " + edit], in: copy.path + "/dists/test")
        return copy
    }

    @Test func releaseWithoutTheArchitecturesIndex() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let copyDirectory = try unsignedCopy("grep -v binary-amd64 Release > R; mv R Release")
        defer { copyDirectory.remove() }
        let copy = copyDirectory.path
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy, signedBy: .some(nil), allowUnsigned: true)]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "file://\(copy)/dists/test/Release lists no main/binary-amd64/Packages index" }
    }

    @Test func corruptIndexMatchingItsRelease() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let copyDirectory = try unsignedCopy("""
            printf 'not xz at all\\n' > main/binary-amd64/Packages.xz
            sum=$(sha256sum main/binary-amd64/Packages.xz | cut -d' ' -f1)
            sed -i "s|^ [0-9a-f]* [0-9]* main/binary-amd64/Packages.xz$| $sum 14 main/binary-amd64/Packages.xz|" Release
            """)
        defer { copyDirectory.remove() }
        let copy = copyDirectory.path
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy, signedBy: .some(nil), allowUnsigned: true)]), workspace: workspace)
        } throws: {
            ($0 as? RepositoryError)?.description
                == "file://\(copy)/dists/test/main/binary-amd64/Packages.xz: xz data is corrupt at compressed byte 12: not in the xz format"
        }
    }

    @Test func unreadableKeyringAndMissingDirectory() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(signedBy: "/nonexistent/keyring.gpg")]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "keyring /nonexistent/keyring.gpg: cannot read the file" }
        await #expect {
            try await run(layer(["mta-b"], sources: [.directory("/nonexistent/debs")]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "/nonexistent/debs: cannot list the directory" }
    }

    @Test func tamperedIndexIsRejected() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let copyDirectory = try fixture.copyRepository()
        defer { copyDirectory.remove() }
        let copy = copyDirectory.path
        let index = copy + "/dists/test/main/binary-amd64/Packages.xz"
        let size = try FileManager.default.attributesOfItem(atPath: index)[.size] as! Int64
        let original = String(try Tools.run(["sha256sum", index]).prefix(64))
        // Same size, one byte changed: only the hash can tell.
        try Tools.run(["python3", "-c", "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[40]^=1; open(p,'wb').write(b)", index])
        let tampered = String(try Tools.run(["sha256sum", index]).prefix(64))
        let url = "file://\(copy)/dists/test/main/binary-amd64/Packages.xz"
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy)]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "\(url): SHA256 is \(tampered), the index says \(original)" }
        try Tools.run(["bash", "-c", "printf x >> '\(index)'"])
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy)]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "\(url): size is \(size + 1) bytes, the index says \(size)" }
    }

    @Test func tamperedDebIsRejected() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let copyDirectory = try fixture.copyRepository()
        defer { copyDirectory.remove() }
        let copy = copyDirectory.path
        let deb = copy + "/pool/mta-b_1_amd64.deb"
        let original = String(try Tools.run(["sha256sum", deb]).prefix(64))
        try Tools.run(["python3", "-c", "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-3]^=1; open(p,'wb').write(b)", deb])
        let tampered = String(try Tools.run(["sha256sum", deb]).prefix(64))
        await #expect {
            try await run(layer(["mta-b"], sources: [fixture.source(uri: "file://" + copy)]), workspace: workspace)
        } throws: { ($0 as? RepositoryError)?.description == "file://\(deb): SHA256 is \(tampered), the index says \(original)" }
    }

    @Test func lockedBuildReadsNoIndex() async throws {
        let fixture = try RepositoryFixture.shared()
        let copyDirectory = try fixture.copyRepository()
        defer { copyDirectory.remove() }
        let copy = copyDirectory.path
        let packages = layer(["app"], sources: [fixture.source(uri: "file://" + copy)])
        let first = try Workspace()
        let (locked, original) = try await run(packages, workspace: first)
        // Without any index, from the URLs…
        try FileManager.default.removeItem(atPath: copy + "/dists")
        let second = try Workspace()
        let (_, fromURLs) = try await run(packages, workspace: second, lock: locked)
        #expect(try fromURLs.tree.sortedEntries().map(\.path) == original.tree.sortedEntries().map(\.path))
        // …and without the packages either, from the cache.
        try FileManager.default.removeItem(atPath: copy + "/pool")
        try FileManager.default.removeItem(atPath: copy + "/pool-all")
        let (_, fromCache) = try await run(packages, workspace: second, lock: locked)
        #expect(try fromCache.tree.sortedEntries().map(\.path) == original.tree.sortedEntries().map(\.path))
        // A package missing from cache and URL is named by its URL.
        let third = try Workspace()
        await #expect {
            try await run(packages, workspace: third, lock: locked)
        } throws: { ($0 as? RepositoryError)?.description == "file://\(copy)/pool-all/base-conf_1_all.deb: no such file" }
    }

    @Test func directorySourceIsIndexedFromControlFiles() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let packages = layer(["libfoo", "base-conf"], sources: [.directory(fixture.root + "/debs")], resolve: .none)
        let (locked, prepared) = try await run(packages, directory: fixture.root, workspace: workspace)
        #expect(locked.packages.map(\.url) == ["debs/base-conf_1_all.deb", "debs/libfoo_2.0_amd64.deb"])
        #expect(locked.packages[1].sha256 == String(try Tools.run(["sha256sum", fixture.root + "/debs/libfoo_2.0_amd64.deb"]).prefix(64)))
        #expect(prepared.tree["usr/lib/x86_64-linux-gnu/libfoo.so.2"] != nil)
        // Elsewhere (another checkout), the relative URL still resolves.
        let (plan, _) = RepositoryFixture.plan(directory: fixture.root, layer: packages)
        #expect(PackagesStrategy.fetchURL(locked.packages[0].url, plan: plan) == "file://\(fixture.root)/debs/base-conf_1_all.deb")
    }

    /// A `.deb` in a `dir:` source that is a symlink must stay inside the
    /// context, like every host input: one pointing outside is refused by
    /// name (resolving, and so `kiln lock`, fail alike); one inside is read.
    @Test func directorySourceSymlinksMustStayInsideTheContext() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try Workspace()
        let context = workspace.root + "/checkout"
        try FileManager.default.createDirectory(atPath: context + "/debs", withIntermediateDirectories: true)
        let outside = fixture.root + "/debs/libfoo_2.0_amd64.deb"
        try FileManager.default.createSymbolicLink(atPath: context + "/debs/libfoo.deb", withDestinationPath: outside)
        let packages = layer(["libfoo"], sources: [.directory(context + "/debs")], resolve: .none)
        let error = await #expect(throws: RepositoryError.self) { try await run(packages, directory: context, workspace: workspace) }
        #expect(error?.description == "\(context)/debs/libfoo.deb: resolves through a symlink to \(outside), outside the context \(context) (use --context DIR to widen it)")

        try FileManager.default.removeItem(atPath: context + "/debs/libfoo.deb")
        try FileManager.default.copyItem(atPath: outside, toPath: context + "/libfoo_2.0_amd64.deb")
        try FileManager.default.createSymbolicLink(atPath: context + "/debs/libfoo.deb", withDestinationPath: "../libfoo_2.0_amd64.deb")
        let (locked, _) = try await run(packages, directory: context, workspace: workspace)
        #expect(locked.packages.map(\.name) == ["libfoo"])
    }

    @Test func httpRepositoryWithAcquireByHash() async throws {
        let fixture = try RepositoryFixture.shared()
        let server = try HTTPServer(directory: fixture.root + "/repo")
        defer { server.stop() }
        let workspace = try Workspace()
        let lines = LogLines()
        let packages = layer(["app"], sources: [fixture.source(uri: server.url, suite: "hashed")])
        let (plan, spec) = RepositoryFixture.plan(directory: fixture.root, layer: packages)
        let context = workspace.context(plan: plan, layer: spec, log: { lines.append($0) })
        let locked = try await PackagesStrategy(packages).resolve(context: context)
        #expect(locked.packages.map(\.name) == ["base-conf", "libfoo", "mta-b", "app"])
        #expect(locked.packages.allSatisfy { $0.url.hasPrefix(server.url + "/pool") })
        let prepared = try await PackagesStrategy(packages, lock: locked).prepare(context)
        #expect(prepared.tree["usr/bin/app"] != nil)
        let fetched = lines.all.filter { $0.hasPrefix("fetched ") }
        #expect(fetched.contains { $0.hasPrefix("fetched \(server.url)/dists/hashed/main/binary-amd64/by-hash/SHA256/") })
        // A package is named by its file; indexes by their URL.
        #expect(fetched.contains { $0.hasPrefix("fetched app_1.0-1_amd64.deb (") })
        await #expect {
            try await PackagesStrategy(self.layer(["app"], sources: [fixture.source(uri: server.url, suite: "nosuch")])).resolve(context: context)
        } throws: { ($0 as? RepositoryError)?.description == "GET \(server.url)/dists/nosuch/InRelease: HTTP 404" }
    }
}

/// Log lines collected from any thread.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

import Synchronization

/// `python3 -m http.server` on a free loopback port, for the test's life.
final class HTTPServer {
    private let server: PythonServer
    let url: String

    /// Serves `directory`.
    convenience init(directory: String) throws {
        try self.init(arguments: ["-m", "http.server", "--bind", "127.0.0.1", "--directory", directory, "0"])
    }

    /// Runs a Python server script that prints http.server's banner.
    convenience init(script: String) throws {
        try self.init(arguments: ["-c", script])
    }

    private init(arguments: [String]) throws {
        server = try PythonServer(arguments)
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let text = server.firstLine
        guard let range = text.range(of: "port "), let port = text[range.upperBound...].split(separator: " ").first else {
            server.stop()
            throw TestSupportError("http.server did not start: \(text)")
        }
        url = "http://127.0.0.1:\(port)"
    }

    func stop() { server.stop() }
}

@Suite(.requires(RepositoryFixture.tools))
struct PackagesProvenanceTests {
    @Test func everyPathMapsToThePackageThatShipsItWithItsVersionAndDebDigest() async throws {
        let fixture = try RepositoryFixture.shared()
        let workspace = try PackagesStrategyTests.Workspace()
        let suite = PackagesStrategyTests()
        let (locked, prepared) = try await suite.run(suite.layer(["app", "ca-certificates"], sources: [fixture.source()]), workspace: workspace)
        let provenance = prepared.provenance
        // The first package (in install order) listing a path ships it; the
        // .deb digest is sha256sum's, not the lock's.
        var shipper: [String: Provenance.Origin] = [:]
        for package in locked.packages {
            let deb = fixture.deb(package.url.replacingOccurrences(of: fixture.uri + "/", with: ""))
            let origin = Provenance.Origin.package(Provenance.Package(
                name: package.name, version: package.version, architecture: package.architecture,
                sha256: String(try Tools.run(["sha256sum", deb]).prefix(64))))
            for listed in try suite.dpkgListing(deb) where shipper[listed.path] == nil { shipper[listed.path] = origin }
            #expect(provenance.origin(of: "var/lib/dpkg/status.d/" + package.name)
                == .generated(Provenance.Generated(reason: "dpkg status", package: package.name)))
        }
        #expect(shipper.count > 20)
        for (path, origin) in shipper {
            #expect(provenance.origin(of: path) == origin, "\(path)")
        }
        guard case .package(let app) = provenance.origin(of: "/usr/bin/app") else {
            Issue.record("/usr/bin/app has no package")
            return
        }
        #expect(app.name == "app" && app.version == "1.0-1" && app.architecture == "amd64")
        #expect(provenance.origin(of: "etc/ssl/certs/ca-certificates.crt")
            == .generated(Provenance.Generated(reason: "update-ca-certificates", package: "ca-certificates")))
        #expect(provenance.origin(of: "bin") == .generated(Provenance.Generated(reason: "usr-merge")))
        // Every regular file of the layer is accounted for.
        for entry in try prepared.tree.sortedEntries() {
            if case .regular = entry.kind { #expect(provenance.origin(of: entry.path) != nil, "\(entry.path)") }
        }
        #expect(provenance.trees.isEmpty)
    }
}
