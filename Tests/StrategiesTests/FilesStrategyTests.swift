import Foundation
import Archive
import KilnCore
import Plan
import Strategies
import Testing
import TestSupport

@Suite struct FilesStrategyTests {
    /// Loads `plan.yaml` (written into `directory` with `yaml` below the
    /// header) and prepares its files layer named `layer`.
    static func prepare(_ yaml: String, in directory: String, layer: String = "files") throws -> PreparedLayer {
        let text = "kiln: 1\nname: example.com/test\ncreated: \"2024-01-01T00:00:00Z\"\nlayers:\n" + yaml
        try Files.write(Array(text.utf8), to: directory + "/plan.yaml")
        let plan = try PlanLoader(environment: [:]).load(file: directory + "/plan.yaml")
        let spec = try #require(plan.layers.first { $0.name == layer })
        guard case .files(let files) = spec.strategy else { throw TestSupportError("not a files layer") }
        let context = StrategyContext(plan: plan, layer: spec, scratchRoot: directory, cacheDirectory: directory) { _ in }
        return try FilesStrategy(files).prepare(context)
    }

    @Test func declaredEntriesGetTheirDefaultsModesAndOwners() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layer = try Self.prepare("""
              - name: files
                type: files
                files:
                  - { path: /etc/motd, content: "hello\\n" }
                  - { path: /etc/secret, content: "s", mode: "0600", owner: "10:20" }
                  - { path: /usr/bin/app, symlink: /opt/app/bin/app, owner: "1:1" }
                  - { path: /var/lib/app, directory: true, owner: "65532:65532" }
                  - { path: /tmp, directory: true, mode: "1777" }
            """, in: directory)
        #expect(try layer.tree.sortedEntries() == [
            LayerEntry(path: "etc", kind: .directory, mode: 0o755),
            LayerEntry(path: "etc/motd", kind: .regular(.bytes(Array("hello\n".utf8))), mode: 0o644),
            LayerEntry(path: "etc/secret", kind: .regular(.bytes(Array("s".utf8))), mode: 0o600, uid: 10, gid: 20),
            LayerEntry(path: "tmp", kind: .directory, mode: 0o1777),
            LayerEntry(path: "usr", kind: .directory, mode: 0o755),
            LayerEntry(path: "usr/bin", kind: .directory, mode: 0o755),
            LayerEntry(path: "usr/bin/app", kind: .symlink(target: "/opt/app/bin/app"), mode: 0o777, uid: 1, gid: 1),
            LayerEntry(path: "var", kind: .directory, mode: 0o755),
            LayerEntry(path: "var/lib", kind: .directory, mode: 0o755),
            LayerEntry(path: "var/lib/app", kind: .directory, mode: 0o755, uid: 65532, gid: 65532),
        ])
        #expect(layer.temporaryDirectories.isEmpty && layer.notes.isEmpty)
    }

    @Test func sourcesAreCopiedWithNormalizedModesAndModeAppliesToTheTopEntryOnly() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("""
            mkdir -p site/css && printf 'body{}' > site/css/a.css && printf '<html>' > site/index.html
            chmod 0700 site site/css && chmod 0600 site/index.html
            printf '#!/bin/sh\\n' > run.sh && chmod 0700 run.sh
            ln -s run.sh run-link
            printf conf > app.conf
            """, in: directory)
        let layer = try Self.prepare("""
              - name: files
                type: files
                files:
                  - { path: /srv/www, source: site, mode: "0750", owner: "33:33" }
                  - { path: /usr/local/bin/run, source: run-link }
                  - { path: /etc/app.conf, source: app.conf, mode: "0640" }
            """, in: directory)
        let real = try #require(HostPathResolver.realPath(directory))
        #expect(try layer.tree.sortedEntries() == [
            LayerEntry(path: "etc", kind: .directory, mode: 0o755),
            LayerEntry(path: "etc/app.conf", kind: HostTreeTests.hostFile(real + "/app.conf", 4), mode: 0o640),
            LayerEntry(path: "srv", kind: .directory, mode: 0o755),
            LayerEntry(path: "srv/www", kind: .directory, mode: 0o750, uid: 33, gid: 33),
            LayerEntry(path: "srv/www/css", kind: .directory, mode: 0o755, uid: 33, gid: 33),
            LayerEntry(path: "srv/www/css/a.css", kind: HostTreeTests.hostFile(real + "/site/css/a.css", 6), mode: 0o644, uid: 33, gid: 33),
            LayerEntry(path: "srv/www/index.html", kind: HostTreeTests.hostFile(real + "/site/index.html", 6), mode: 0o644, uid: 33, gid: 33),
            LayerEntry(path: "usr", kind: .directory, mode: 0o755),
            LayerEntry(path: "usr/local", kind: .directory, mode: 0o755),
            LayerEntry(path: "usr/local/bin", kind: .directory, mode: 0o755),
            // A top-level source symlink is followed.
            LayerEntry(path: "usr/local/bin/run", kind: HostTreeTests.hostFile(real + "/run.sh", 10), mode: 0o755),
        ])
    }

    @Test func rootAndPathsCopyUnderTheSamePaths() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("mkdir -p rootfs/etc/app rootfs/usr/local/bin && printf x > rootfs/etc/app/env && printf y > rootfs/usr/local/bin/tool && chmod +x rootfs/usr/local/bin/tool", in: directory)
        let layer = try Self.prepare("""
              - name: files
                type: files
                root: rootfs
                paths: [etc/app, usr/local/bin/tool]
            """, in: directory)
        let entries = try layer.tree.sortedEntries()
        #expect(entries.map(\.path) == ["etc", "etc/app", "etc/app/env", "usr", "usr/local", "usr/local/bin", "usr/local/bin/tool"])
        #expect(entries.last?.mode == 0o755)
    }

    @Test func samePathFromTwoEntriesNamesBothPlanLocations() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("mkdir -p conf && printf a > conf/motd", in: directory)
        let error = try #require(throws: FilesStrategyError.self) {
            _ = try Self.prepare("""
                  - name: files
                    type: files
                    files:
                      - { path: /etc, source: conf }
                      - { path: /etc/motd, content: "b" }
                """, in: directory)
        }
        let plan = directory + "/plan.yaml"
        #expect(error.description == "\(plan):9:9: error: layer \"files\": /etc/motd is produced twice, by this entry and by the entry at \(plan):8:9")
    }

    @Test func entryBelowASymlinkNamesBothPlanLocations() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let error = try #require(throws: FilesStrategyError.self) {
            _ = try Self.prepare("""
                  - name: files
                    type: files
                    files:
                      - { path: /opt/app, symlink: /srv/app }
                      - { path: /opt/app/config, content: "x" }
                """, in: directory)
        }
        let plan = directory + "/plan.yaml"
        #expect(error.description == "\(plan):9:9: error: layer \"files\": /opt/app/config sits below /opt/app, which is not a directory (declared at \(plan):8:9)")
    }

    @Test func unreadableSourceNamesTheLayerAndEntry() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("mkdir -p tree && mkfifo tree/pipe", in: directory)
        let error = try #require(throws: FilesStrategyError.self) {
            _ = try Self.prepare("""
                  - name: assets
                    type: files
                    files:
                      - { path: /srv, source: tree }
                """, in: directory, layer: "assets")
        }
        let real = try #require(HostPathResolver.realPath(directory))
        #expect(error.description == "\(directory)/plan.yaml:8:9: error: layer \"assets\": \(real)/tree/pipe is a FIFO; layers hold only regular files, directories and symlinks")
    }

    @Test func invalidImagePathMessage() {
        let location = SourceLocation(file: "plan.yaml", line: 3, column: 7)
        #expect(FilesStrategyError.invalidPath(layer: "l", location: location, path: "a//b").description == "plan.yaml:3:7: error: layer \"l\": invalid image path \"/a//b\"")
    }

    /// The same declared tree, made on disk in two different ways.
    static func makeTree(at root: String, variant: Int) throws {
        let names = ["bin/tool", "etc/app/config.yaml", "etc/app/defaults.env", "share/data.bin", "share/doc/README"]
        let ordered = variant == 0 ? names : names.reversed()
        var script = variant == 0 ? "umask 022\n" : "umask 077\n"
        for name in ordered {
            script += "mkdir -p \"$(dirname \(name))\"\n"
            script += name == "share/data.bin" ? "awk 'BEGIN{for(i=0;i<60000;i++)printf \"%d\\\\n\", i*7}' > \(name)\n" : "printf '\(name)\\n' > \(name)\n"
        }
        script += "chmod u+x bin/tool\nln -s ../etc/app/config.yaml share/config\nln share/doc/README share/README.hard\n"
        if variant == 1 { script += "touch -d '2001-02-03 04:05:06' bin/tool share etc/app/config.yaml\n" }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Tools.shell(script, in: root)
    }

    @Test(arguments: Compression.allCases)
    func sameTreeGivesTheSameBlobWhateverUmaskMtimesCreationOrderOrJobs(compression: Compression) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        var blobs: [[UInt8]] = []
        for (variant, jobs) in [(0, 1), (1, 2)] {
            let work = directory + "/v\(variant)"
            try Self.makeTree(at: work + "/tree", variant: variant)
            let layer = try Self.prepare("""
                  - name: files
                    type: files
                    files:
                      - { path: /opt, source: tree }
                      - { path: /etc/motd, content: "hi\\n" }
                """, in: work)
            let writer = LayerWriter(compression: compression, modificationTime: Timestamp(secondsSinceEpoch: 1_704_067_200), workers: LayerWorkers(count: jobs))
            _ = try writer.write(layer.tree, to: work + "/blob")
            blobs.append(try Files.bytes(work + "/blob"))
        }
        #expect(blobs[0] == blobs[1])
    }

    @Test(.requires(.tools("tar")))
    func gnuTarExtractsTheDeclaredTree() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Self.makeTree(at: directory + "/tree", variant: 1)
        let layer = try Self.prepare("""
              - name: files
                type: files
                files:
                  - { path: /opt, source: tree, owner: "7:8" }
            """, in: directory)
        let writer = LayerWriter(compression: .gzip, modificationTime: Timestamp(secondsSinceEpoch: 1_704_067_200), workers: LayerWorkers(count: 2))
        _ = try writer.write(layer.tree, to: directory + "/blob")
        try Tools.shell("mkdir out && tar --same-owner -xpzf blob -C out", in: directory)
        let listing = String(decoding: try Tools.output(["sh", "-c", "cd out && find . -printf '%p %m %U:%G %y %l\\n' | LC_ALL=C sort"], in: directory), as: UTF8.self)
        #expect(listing == """
            . 755 0:0 d 
            ./opt 755 7:8 d 
            ./opt/bin 755 7:8 d 
            ./opt/bin/tool 755 7:8 f 
            ./opt/etc 755 7:8 d 
            ./opt/etc/app 755 7:8 d 
            ./opt/etc/app/config.yaml 644 7:8 f 
            ./opt/etc/app/defaults.env 644 7:8 f 
            ./opt/share 755 7:8 d 
            ./opt/share/README.hard 644 7:8 f 
            ./opt/share/config 777 7:8 l ../etc/app/config.yaml
            ./opt/share/data.bin 644 7:8 f 
            ./opt/share/doc 755 7:8 d 
            ./opt/share/doc/README 644 7:8 f 

            """)
        try Tools.shell("cmp out/opt/share/data.bin tree/share/data.bin && cmp out/opt/share/doc/README tree/share/doc/README", in: directory)
        var first = stat(), second = stat()
        #expect(stat(directory + "/out/opt/share/README.hard", &first) == 0 && stat(directory + "/out/opt/share/doc/README", &second) == 0)
        #expect(first.st_ino == second.st_ino)
    }

    @Test func removeAndReplaceWriteWhiteoutsAndOpaqueMarkers() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let layer = try Self.prepare("""
              - name: files
                type: files
                files:
                  - { path: /etc/cron.daily, remove: true }
                  - { path: /top, remove: true }
                  - { path: /opt/app, directory: true, replace: true, mode: "0750" }
                  - { path: /opt/app/config, content: "c" }
            """, in: temporaryDirectory.path)
        // Markers: empty regular files, mode 0000, 0:0 (SPEC §1.4), sorted
        // like every entry.
        let marker = LayerEntry.Kind.regular(.bytes([]))
        #expect(try layer.tree.sortedEntries() == [
            LayerEntry(path: ".wh.top", kind: marker, mode: 0),
            LayerEntry(path: "etc", kind: .directory, mode: 0o755),
            LayerEntry(path: "etc/.wh.cron.daily", kind: marker, mode: 0),
            LayerEntry(path: "opt", kind: .directory, mode: 0o755),
            LayerEntry(path: "opt/app", kind: .directory, mode: 0o750),
            LayerEntry(path: "opt/app/.wh..wh..opq", kind: marker, mode: 0),
            LayerEntry(path: "opt/app/config", kind: .regular(.bytes(Array("c".utf8))), mode: 0o644),
        ])
        #expect(layer.provenance.origin(of: "etc/.wh.cron.daily") == .filesEntry(Provenance.FilesEntry(path: "/etc/cron.daily", kind: .remove)))
    }
}
