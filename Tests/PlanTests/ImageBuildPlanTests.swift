import Foundation
import KilnCore
import Plan
import Testing
import TestSupport

/// The normalized plan: defaults filled, scalars kept as written, host
/// paths resolved, and equal values for plans that mean the same.
@Suite struct ImageBuildPlanTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    func decode(_ text: String, environment: [String: String] = [:], context: String? = nil, in path: String? = nil,
                sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> ImageBuildPlan {
        do {
            return try testLoader(environment: environment, context: context)
                .decode(Array(text.utf8), file: "plan.yaml", directory: path ?? directory.path)
        } catch {
            Issue.record("unexpected errors: \(error)", sourceLocation: sourceLocation)
            throw error
        }
    }

    let minimal = "kiln: 1\nname: app\nlayers:\n  - { name: base, type: files, files: [{ path: /etc/motd, content: \"hi\\n\" }] }\n"

    @Test func defaultsAreFilled() throws {
        let plan = try decode(minimal)
        #expect(plan.tag == "latest")
        #expect(plan.base == .scratch)
        #expect(plan.platform == Platform(os: "linux", architecture: "amd64"))
        #expect(plan.created == Timestamp(secondsSinceEpoch: 0))
        #expect(plan.compression == .gzip)
        #expect(plan.config == RuntimeConfig())
        #expect(plan.annotations == [:])
        #expect(plan.directory == directory.path && plan.context == directory.path)
        #expect(plan.file == "plan.yaml")
    }

    @Test func theHostPlatformIsTheLoadersDefault() throws {
        let loader = PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "arm64", variant: "v8"))
        let plan = try loader.decode(Array(minimal.utf8), file: "plan.yaml", directory: directory.path)
        #expect(plan.platform.description == "linux/arm64/v8")
        #expect(PlanLoader(environment: [:]).hostPlatform == .host)
    }

    @Test func sourceDateEpochIsTheDefaultCreatedAndClampsALaterOne() throws {
        let epoch = ["SOURCE_DATE_EPOCH": "1700000000"]
        #expect(try decode(minimal, environment: epoch).created == Timestamp(secondsSinceEpoch: 1_700_000_000))
        // 2024-01-01T00:00:00Z is 1704067200, later than the epoch: clamped.
        let later = minimal + "created: \"2024-01-01T00:00:00Z\"\n"
        #expect(try decode(later, environment: epoch).created == Timestamp(secondsSinceEpoch: 1_700_000_000))
        #expect(try decode(later).created == Timestamp(secondsSinceEpoch: 1_704_067_200))
        // An earlier created stays; offsets are applied.
        let earlier = minimal + "created: \"2023-01-01T02:00:00+02:00\"\n"
        #expect(try decode(earlier, environment: epoch).created == Timestamp(secondsSinceEpoch: 1_672_531_200))
        #expect(try decode(earlier, environment: epoch).created.rfc3339 == "2023-01-01T00:00:00Z")
        // An empty SOURCE_DATE_EPOCH is unset.
        #expect(try decode(minimal, environment: ["SOURCE_DATE_EPOCH": ""]).created == Timestamp(secondsSinceEpoch: 0))
    }

    @Test func aMalformedSourceDateEpochIsAnError() throws {
        let errors = decodeErrors(minimal, in: directory.path, environment: ["SOURCE_DATE_EPOCH": "yesterday"])
        #expect(errors == ["plan.yaml:1:1: error: SOURCE_DATE_EPOCH=\"yesterday\" in the environment is not a whole number of seconds"])
        let late = decodeErrors(minimal, in: directory.path, environment: ["SOURCE_DATE_EPOCH": "253402300800"])
        #expect(late == ["plan.yaml:1:1: error: SOURCE_DATE_EPOCH=\"253402300800\" in the environment is after 9999-12-31T23:59:59Z"])
        #expect(try decode(minimal, environment: ["SOURCE_DATE_EPOCH": "253402300799"]).created == Timestamp.latest)
    }

    @Test func scalarsStayAsWritten() throws {
        let plan = try decode("kiln: 1\nname: app\ntag: 1.10\nuser: 0100\nenv: { A: 1.50, B: yes, C: ~x, D: 0x10 }\nlabels: { n: 1e3 }\n"
            + "layers:\n  - { name: 1.0, type: files, files: [{ path: /v, content: 010 }] }\n")
        #expect(plan.tag == "1.10")
        #expect(plan.config.user == "0100")
        #expect(plan.config.env == ["A": "1.50", "B": "yes", "C": "~x", "D": "0x10"])
        #expect(plan.config.labels == ["n": "1e3"])
        #expect(plan.layers.map(\.name) == ["1.0"])
        guard case .files(let files) = plan.layers.first?.strategy else { Issue.record("not a files layer"); return }
        #expect(files.entries.first?.content == .content("010"))
    }

    @Test func modesMeanWhatChmodMeans() throws {
        let plan = try decode("kiln: 1\nname: app\nlayers:\n  - name: m\n    type: files\n    files:\n"
            + "      - { path: /a, content: '', mode: \"0755\" }\n      - { path: /b, content: '', mode: 0755 }\n"
            + "      - { path: /c, content: '', mode: 755 }\n      - { path: /d, content: '', mode: 0o755 }\n"
            + "      - { path: /e, content: '', mode: 04755 }\n      - { path: /f, content: '' }\n")
        guard case .files(let files) = plan.layers.first?.strategy else { Issue.record("not a files layer"); return }
        #expect(files.entries.map(\.mode) == [0o755, 0o755, 0o755, 0o755, 0o4755, nil])
    }

    @Test func plansThatMeanTheSameAreEqual() throws {
        let block = """
            # a comment
            kiln: 1
            name: example.com/app
            tag: "1.0"
            layers:
              - name: config
                type: files
                files:
                  - path: /etc/motd
                    content: "hi\\n"
                    owner: "1:1"
                  - path: /home/app
                    directory: true
                    owner: "1:1"
              - name: pkgs
                type: packages
                names: [curl]
            env:
              B: "2"
              A: "1"
            entrypoint: [/app]
            cmd: [/app]
            """
        let flow = """
            {cmd: [/app], entrypoint: [/app], env: {A: '1', B: '2'}, kiln: 1, tag: '1.0', name: example.com/app,
             layers: [{type: files, name: config, files: [{content: "hi\\n", path: /etc/motd, owner: &o '1:1'}, {path: /home/app, owner: *o, directory: true}]},
                      {names: [curl], name: pkgs, type: packages, sources: system, resolve: transitive}]}
            """
        let anchors = """
            kiln: 1
            name: example.com/app   # trailing comment
            tag: '1.0'
            layers:
              - name: config
                type: files
                files:
                  - { path: /etc/motd, content: "hi\\n", owner: &owner "1:1" }
                  - { path: /home/app, directory: true, owner: *owner }
              - { name: pkgs, type: packages, names: [curl], exclude: [] }
            entrypoint: &argv [/app]
            cmd: *argv
            env: { A: "1", B: "2" }
            """
        let reference = try decode(block)
        #expect(try decode(flow) == reference)
        #expect(try decode(anchors) == reference)
        #expect(try decode(flow).hashValue == reference.hashValue)
        // A change in meaning is a difference.
        #expect(try decode(block.replacingOccurrences(of: "owner: \"1:1\"\n      - path: /home", with: "owner: \"1:2\"\n      - path: /home")) != reference)
    }

    @Test func relativeHostPathsResolveAgainstThePlansDirectory() throws {
        try directory.write("project/config/app.conf", "x\n")
        try directory.write("project/src/main.c", "int main;\n")
        let planFile = try directory.write("project/app.yaml", "kiln: 1\nname: app\nlayers:\n"
            + "  - { name: c, type: files, files: [{ path: /etc/app.conf, source: config/app.conf }] }\n"
            + "  - { name: b, type: build, command: make, inputs: [src, ./config/app.conf] }\n")
        // The test process's working directory is not the plan's directory.
        #expect(FileManager.default.currentDirectoryPath != directory.path + "/project")
        let plan = try testLoader().load(file: planFile)
        #expect(plan.directory == directory.path + "/project")
        guard case .files(let files) = plan.layers[0].strategy, case .build(let build) = plan.layers[1].strategy else {
            Issue.record("unexpected strategies")
            return
        }
        #expect(files.entries.map(\.content) == [.source(directory.path + "/project/config/app.conf")])
        #expect(build.inputs == [
            BuildInput(relativePath: "src", hostPath: directory.path + "/project/src"),
            BuildInput(relativePath: "config/app.conf", hostPath: directory.path + "/project/config/app.conf"),
        ])
    }

    @Test func aTopLevelSymlinkSourceResolvesToItsTarget() throws {
        try directory.write("real/motd", "hi\n")
        try directory.symlink("link", to: "real/motd")
        let plan = try decode("kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /etc/motd, source: link }] }\n")
        guard case .files(let files) = plan.layers[0].strategy else { Issue.record("not a files layer"); return }
        #expect(files.entries.map(\.content) == [.source(directory.path + "/real/motd")])
    }

    @Test func contextWidensAndInputsMirrorIt() throws {
        try directory.write("shared/motd", "hi\n")
        try directory.write("app/src/main.c", "int main;\n")
        let app = directory.path + "/app"
        let text = "kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /etc/motd, source: ../shared/motd }] }\n"
            + "  - { name: b, type: build, command: make, inputs: [src, ../shared] }\n"
        let plan = try decode(text, context: directory.path, in: app)
        #expect(plan.context == directory.path)
        #expect(plan.directory == app)
        guard case .files(let files) = plan.layers[0].strategy, case .build(let build) = plan.layers[1].strategy else {
            Issue.record("unexpected strategies")
            return
        }
        #expect(files.entries.map(\.content) == [.source(directory.path + "/shared/motd")])
        // Inputs land at their path relative to the context.
        #expect(build.inputs.map(\.relativePath) == ["app/src", "shared"])
        let whole = try decode("kiln: 1\nname: app\nlayers:\n  - { name: b, type: build, command: make, inputs: [.] }\n", in: app)
        guard case .build(let only) = whole.layers[0].strategy else { Issue.record("not a build layer"); return }
        #expect(only.inputs == [BuildInput(relativePath: "", hostPath: app)])
    }

    @Test func rootAndPathsExpandToSourceEntries() throws {
        try directory.write("rootfs/etc/issue", "hi\n")
        try directory.write("rootfs/usr/local/bin/tool", "#!/bin/sh\n", mode: 0o755)
        try directory.write("etc/hosts", "127.0.0.1 localhost\n")
        let plan = try decode("kiln: 1\nname: app\nlayers:\n"
            + "  - { name: t, type: files, root: rootfs, paths: [usr/local/bin/tool, ./etc/issue], files: [{ path: /etc/motd, content: x }] }\n"
            + "  - { name: d, type: files, paths: [etc] }\n")
        guard case .files(let tools) = plan.layers[0].strategy, case .files(let plain) = plan.layers[1].strategy else {
            Issue.record("unexpected strategies")
            return
        }
        let location = SourceLocation(file: "plan.yaml", line: 1, column: 1)
        #expect(tools.entries == [
            FileEntry(path: "/etc/motd", content: .content("x"), location: location),
            FileEntry(path: "/usr/local/bin/tool", content: .source(directory.path + "/rootfs/usr/local/bin/tool"), location: location),
            FileEntry(path: "/etc/issue", content: .source(directory.path + "/rootfs/etc/issue"), location: location),
        ])
        // Without root, paths are taken from the plan's directory.
        #expect(plain.entries == [FileEntry(path: "/etc", content: .source(directory.path + "/etc"), location: location)])
    }

    @Test func theDefaultsOfEachStrategy() throws {
        let plan = try decode("kiln: 1\nname: app\nlayers:\n"
            + "  - { name: p, type: packages, names: [curl] }\n"
            + "  - { name: b, type: build, command: [make, install] }\n"
            + "  - { name: d, type: derivation, store_path: /nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-hello-2.12 }\n")
        #expect(plan.layers.map(\.strategy) == [
            .packages(PackagesLayer(names: ["curl"], sources: [.system], resolve: .transitive, exclude: [])),
            .build(BuildLayer(command: .argv(["make", "install"]), inputs: [], workdir: nil, env: [:], sandbox: .none, timeout: nil)),
            .derivation(DerivationLayer(storePath: "/nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-hello-2.12", storeDir: "/nix/store", closure: true)),
        ])
    }
}
