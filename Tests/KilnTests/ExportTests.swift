import Foundation
import Testing
import TestSupport

/// `kiln export` through the real binary, with umoci as the oracle: the
/// rootfs `kiln export --rootfs` writes is the one `umoci unpack` writes,
/// entry by entry (type, mode, owner, size, content, link target,
/// hardlinks), for kiln's own whiteouts and opaque directories and for
/// layers umoci and hand-written tars make.
@Suite(.requires(.root, .tools("umoci", "python3", "tar")))
struct ExportTests {
    /// A base with a little of everything a later layer can remove or
    /// replace: a directory tree, a symlinked `/bin`, hardlinks, owners.
    static let baseLayers: [[HandLayout.Member]] = [
        [
            .dir("etc"), .file("etc/keep", "keep\n"), .dir("etc/cron.daily"), .file("etc/cron.daily/logrotate", "#!/bin/sh\n", mode: 0o755),
            .dir("etc/cron.daily/deep"), .file("etc/cron.daily/deep/x", "x"),
            .dir("opt"), .dir("opt/app", mode: 0o750, uid: 1000, gid: 1000), .file("opt/app/old", "old\n", uid: 1000, gid: 1000),
            .dir("opt/app/sub"), .file("opt/app/sub/older", "older\n"),
            .dir("usr"), .dir("usr/bin"), .file("usr/bin/sh", "shell\n", mode: 0o755), .hardlink("usr/bin/sh2", to: "usr/bin/sh"),
            .symlink("bin", to: "usr/bin"), .file("setuid", "s", mode: 0o4755),
        ],
        [.file("etc/.wh.keep-not-there-but-harmless"), .file("usr/bin/later", "later\n", mode: 0o700, uid: 7, gid: 8)],
    ]

    /// What is on disk below `root`, one line per entry (Tree.listing).
    static func listing(_ root: String) throws -> [String] { try Tree.listing(root) }

    static func unpack(_ image: String, in scratch: String) throws -> String {
        let bundle = scratch + "/umoci-" + UUID().uuidString
        try Tools.run(["umoci", "unpack", "--image", image, bundle])
        return bundle + "/rootfs"
    }

    @discardableResult
    static func export(_ arguments: [String], in directory: String) throws -> ProcessResult {
        let result = try Tools.kiln(["export"] + arguments, in: directory)
        #expect(result.signal == nil)
        return result
    }

    @Test func kilnWhiteoutsAndOpaqueDirectoriesExportAsUmociUnpacks() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-export")
        defer { scratch.remove() }
        try HandLayout.write(Self.baseLayers, to: scratch.path("base"))
        try scratch.write("plan.yaml", """
            kiln: 1
            name: example.com/export/app
            tag: "1"
            created: "2024-03-01T00:00:00Z"
            base: oci:base
            layers:
              - name: trim
                type: files
                files:
                  - { path: /etc/cron.daily, remove: true }
                  - { path: /opt/app, directory: true, replace: true, mode: "0700" }
                  - { path: /opt/app/config, content: "fresh\\n" }
                  - { path: /usr/bin/tool, content: "tool\\n", mode: "0755" }
              - name: more
                type: files
                files:
                  - { path: /usr/bin/sh2, remove: true }
                  - { path: /etc/cron.daily, directory: true }

            """)
        try Build.layout(["plan.yaml", "-o", "out"], in: scratch.path)
        let umoci = try Self.unpack(scratch.path("out") + ":1", in: scratch.path)
        let result = try Self.export(["out", "--rootfs", "rootfs"], in: scratch.path)
        #expect(result.status == 0, "\(result.stderr)")
        let exported = try Self.listing(scratch.path("rootfs"))
        #expect(exported == (try Self.listing(umoci)))
        // What the plan asked for, spelled out, so a shared mistake with
        // umoci cannot pass either.
        #expect(exported.contains("etc/cron.daily|d|755|0:0|"))
        #expect(!exported.contains { $0.hasPrefix("etc/cron.daily/") || $0.contains(".wh.") })
        #expect(exported.filter { $0.hasPrefix("opt/app") } == [
            "opt/app|d|700|0:0|", try Tree.file("opt/app/config", "fresh\n"),
        ])
        #expect(exported.contains(try Tree.file("usr/bin/sh", "shell\n", mode: "755")))
        #expect(!exported.contains { $0.hasPrefix("usr/bin/sh2|") })
        #expect(exported.contains("bin|l|777|0:0|usr/bin"))
        #expect(exported.contains(try Tree.file("usr/bin/later", "later\n", mode: "700", owner: "7:8")))
        #expect(exported.contains(try Tree.file("setuid", "s", mode: "4755")))
    }

    @Test func theFlatTarHoldsTheRootfsAndIsTheSameEveryTime() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-export-tar")
        defer { scratch.remove() }
        try HandLayout.write(Self.baseLayers + [[.file("opt/.wh.app"), .file("etc/cron.daily/.wh..wh..opq"), .file("etc/cron.daily/new", "n")]], to: scratch.path("image"))
        #expect(try Self.export(["image", "--tar", "one.tar"], in: scratch.path).status == 0)
        #expect(try Self.export(["image", "--tar", "two.tar"], in: scratch.path).status == 0)
        #expect(FileManager.default.contents(atPath: scratch.path("one.tar")) == FileManager.default.contents(atPath: scratch.path("two.tar")))
        try Tools.shell("mkdir extracted && tar --numeric-owner -xpf one.tar -C extracted", in: scratch.path)
        let umoci = try Self.unpack(scratch.path("image") + ":latest", in: scratch.path)
        #expect(try Self.listing(scratch.path("extracted")) == (try Self.listing(umoci)))
        // SPEC §2 metadata: one mtime (the config's created), numeric owners
        // without names, sorted, hardlinks as tar hardlinks.
        let verbose = try Tools.run(["tar", "--numeric-owner", "--full-time", "-tvf", scratch.path("one.tar")])
        let members = lines(verbose)
        #expect(members.allSatisfy { $0.contains("2024-01-01 00:00:00") })
        #expect(members.contains { $0.hasSuffix("usr/bin/sh2 link to usr/bin/sh") })
        let names = try lines(Tools.run(["tar", "-tf", scratch.path("one.tar")]))
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(!names.contains { $0.hasPrefix("opt/app") || $0.contains(".wh.") })
    }

    @Test func umociWhiteoutAndOpaqueLayersExportAsUmociUnpacks() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-export-umoci")
        defer { scratch.remove() }
        try HandLayout.write(Self.baseLayers, to: scratch.path("image"))
        try scratch.write("replacement/fresh", "fresh\n")
        try Tools.shell("""
            umoci insert --image image:latest --whiteout /etc/cron.daily
            umoci insert --image image:latest --opaque replacement /opt/app
            umoci insert --image image:latest --whiteout /usr/bin/sh
            """, in: scratch.path)
        let umoci = try Self.unpack(scratch.path("image") + ":latest", in: scratch.path)
        #expect(try Self.export(["image", "--rootfs", "rootfs"], in: scratch.path).status == 0)
        let exported = try Self.listing(scratch.path("rootfs"))
        #expect(exported == (try Self.listing(umoci)))
        #expect(exported.contains(try Tree.file("opt/app/fresh", "fresh\n")))
        #expect(!exported.contains { $0.hasPrefix("opt/app/old") || $0.hasPrefix("etc/cron.daily") || $0.hasPrefix("usr/bin/sh|") })
        // The other link of the removed file keeps its content.
        #expect(exported.contains(try Tree.file("usr/bin/sh2", "shell\n", mode: "755")))
    }

    @Test func anArchiveAndAPlatformAreAccepted() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-export-archive")
        defer { scratch.remove() }
        try HandLayout.write(Self.baseLayers, to: scratch.path("image"))
        try Tools.shell("tar -cf image.tar -C image .", in: scratch.path)
        #expect(try Self.export(["image.tar", "--rootfs", "from-archive", "--platform", "linux/amd64"], in: scratch.path).status == 0)
        #expect(try Self.export(["image", "--rootfs", "from-layout"], in: scratch.path).status == 0)
        #expect(try Self.listing(scratch.path("from-archive")) == (try Self.listing(scratch.path("from-layout"))))
        let wrong = try Self.export(["image", "--rootfs", "arm", "--platform", "linux/arm64"], in: scratch.path)
        #expect(wrong.status == 1)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("arm")))
    }

    @Test func usageErrors() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-export-usage")
        defer { scratch.remove() }
        try HandLayout.write(Self.baseLayers, to: scratch.path("image"))
        let neither = try Self.export(["image"], in: scratch.path)
        #expect(neither.status == 2)
        #expect(neither.stderr.contains("name exactly one of --rootfs DIR and --tar FILE"))
        let both = try Self.export(["image", "--rootfs", "a", "--tar", "b"], in: scratch.path)
        #expect(both.status == 2)
        try scratch.write("full/file", "x")
        let full = try Self.export(["image", "--rootfs", "full"], in: scratch.path)
        #expect(full.status == 1)
        #expect(full.stderrLines == ["kiln: error: full: exists and is not an empty directory (kiln export writes a new one)"])
        let missing = try Self.export(["no-such-dir/", "--rootfs", "x"], in: scratch.path)
        #expect(missing.status == 1)
        #expect(missing.stderrLines == ["kiln: error: no-such-dir/: no such layout directory or oci-archive, and not a registry reference"])
    }
}
