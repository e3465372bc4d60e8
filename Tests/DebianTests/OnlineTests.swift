import Foundation
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport
@testable import Debian

/// Against the build host's real apt sources; opt in with KILN_ONLINE_TESTS=1.
@Suite(.requires(.online))
struct OnlineTests {
    @Test func caCertificatesAndTzdataFromSystemSources() async throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-online")
        defer { temporaryDirectory.remove() }
        let root = temporaryDirectory.path
        let layer = PackagesLayer(names: ["ca-certificates", "tzdata"], sources: [.system], resolve: .transitive, exclude: [])
        let (plan, spec) = RepositoryFixture.plan(directory: root, layer: layer)
        let lines = LogLines()
        let context = StrategyContext(plan: plan, layer: spec, scratchRoot: root + "/scratch", cacheDirectory: root + "/cache", log: { lines.append($0) })
        let clock = ContinuousClock()
        let start = clock.now
        let locked = try await PackagesStrategy(layer).resolve(context: context)
        let resolved = clock.now
        let prepared = try await PackagesStrategy(layer, lock: locked).prepare(context)
        let done = clock.now
        print("online: resolve \(resolved - start), fetch+unpack \(done - resolved); packages: \(locked.packages.map { "\($0.name)=\($0.version)" })")
        #expect(locked.packages.contains { $0.name == "ca-certificates" })
        #expect(locked.packages.contains { $0.name == "tzdata" })
        guard case .regular(.file(let bundle, let size, _)) = prepared.tree["etc/ssl/certs/ca-certificates.crt"]?.kind else {
            Issue.record("no CA bundle")
            return
        }
        #expect(size > 100_000)
        let text = String(decoding: FileManager.default.contents(atPath: bundle)!, as: UTF8.self)
        #expect(text.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(prepared.tree["usr/share/zoneinfo/Europe/Paris"] != nil)
        #expect(prepared.tree["usr/share/zoneinfo/UTC"] != nil)
        for name in ["ca-certificates", "tzdata"] {
            #expect(prepared.tree["var/lib/dpkg/status.d/" + name] != nil)
            #expect(prepared.tree["var/lib/dpkg/status.d/" + name + ".md5sums"] != nil)
        }
        #expect(prepared.notes.first?.hasPrefix("maintainer scripts not run: ") == true)
        // A second, locked run comes from the cache and reads no index.
        let again = try await PackagesStrategy(layer, lock: locked).prepare(context)
        #expect(try again.tree.sortedEntries().map(\.path) == prepared.tree.sortedEntries().map(\.path))
        for directory in prepared.temporaryDirectories + again.temporaryDirectories { try? FileManager.default.removeItem(atPath: directory) }
    }
}
