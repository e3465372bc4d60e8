import Archive
import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
@testable import Strategies
import KilnProcess

/// A checkout (`context/`, the plan directory unless `planPlace` moves it
/// below) and a scratch root, both temporary.
struct BuildFixture {
    let directory: TemporaryDirectory
    let planPlace: String
    let log = BuildLineRecorder()

    init(planPlace: String = "") throws {
        directory = try TemporaryDirectory()
        self.planPlace = planPlace
        try FileManager.default.createDirectory(atPath: scratchRoot, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: planDirectory, withIntermediateDirectories: true)
    }

    var context: String { directory.path + "/context" }
    var planDirectory: String { planPlace.isEmpty ? context : context + "/" + planPlace }
    var scratchRoot: String { directory.path + "/scratch" }
    static let created = Timestamp(secondsSinceEpoch: 1_704_067_200)

    func write(_ relative: String, _ text: String, mode: mode_t = 0o644) throws {
        try directory.write("context/" + relative, text, mode: mode)
    }

    func input(_ relative: String) -> BuildInput {
        // As the plan loader writes it: the context itself is the empty path.
        relative == "." ? BuildInput(relativePath: "", hostPath: context) : BuildInput(relativePath: relative, hostPath: context + "/" + relative)
    }

    func strategyContext(layer: String = "app", keepScratch: Bool = false) -> StrategyContext {
        let plan = ImageBuildPlan(
            file: planDirectory + "/plan.yaml", directory: planDirectory, context: context,
            name: "example.test/app", tag: "latest", base: .scratch,
            platform: Platform(os: "linux", architecture: "amd64"), created: BuildFixture.created,
            compression: .gzip, layers: [], config: RuntimeConfig(), annotations: [:]
        )
        let spec = LayerSpec(name: layer, strategy: .build(BuildLayer(
            command: .shell("true"), inputs: [], workdir: nil, env: [:], sandbox: .none, timeout: nil)),
            location: SourceLocation(file: "plan.yaml", line: 1, column: 1))
        let recorder = log
        return StrategyContext(
            plan: plan, layer: spec, scratchRoot: scratchRoot, cacheDirectory: directory.path + "/cache",
            keepScratch: keepScratch, log: { recorder.record(ChildProcess.Line(stream: .standardOutput, text: $0)) }
        )
    }

    func run(_ layer: BuildLayer, keepScratch: Bool = false, toolSearchPath: String = BuildStrategy.defaultSearchPath)
        async throws(BuildError) -> BuildScratch {
        try await BuildStrategy.run(layer, context: strategyContext(keepScratch: keepScratch), toolSearchPath: toolSearchPath)
    }

    /// Every path below the checkout with its mode and size, to show it unchanged.
    func snapshot() throws -> [String] {
        try BuildFixture.listing(of: context)
    }

    static func listing(of root: String) throws -> [String] {
        var result: [String] = []
        let walker = FileManager.default.enumerator(atPath: root)
        while let relative = walker?.nextObject() as? String {
            var info = stat()
            lstat(root + "/" + relative, &info)
            result.append("\(relative) \(String(info.st_mode, radix: 8)) \(info.st_size) \(info.st_mtim.tv_sec)")
        }
        return result.sorted()
    }

    var scratchEntries: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: scratchRoot)) ?? []
    }
}

func build(_ command: BuildLayer.Command, inputs: [BuildInput] = [], workdir: String? = nil, env: [String: String] = [:],
           sandbox: BuildLayer.Sandbox = .none, timeout: Int? = nil) -> BuildLayer {
    BuildLayer(command: command, inputs: inputs, workdir: workdir, env: env, sandbox: sandbox, timeout: timeout)
}

func fileText(_ path: String) -> String? {
    try? String(contentsOfFile: path, encoding: .utf8)
}

extension Requirement {
    /// `name` (or an absolute path) where build layers look for programs,
    /// ``BuildStrategy/defaultSearchPath``, rather than on the tests' `PATH`.
    static func onBuildSearchPath(_ name: String) -> Requirement {
        Requirement(name) {
            ChildProcess.locate(name, searchPath: BuildStrategy.defaultSearchPath, relativeTo: "/") != nil
                ? nil : "peer tool '\(name)' not found on kiln's build search path \(BuildStrategy.defaultSearchPath)"
        }
    }
}

@Suite struct BuildStrategyRunTests {
    @Test func copiesInputsIntoAPrivateScratchAndLeavesTheCheckoutAlone() async throws {
        let fixture = try BuildFixture()
        try fixture.write("src/main.c", "int main;\n")
        try fixture.write("Makefile", "all:\n")
        try fixture.write("secret.txt", "not an input\n")
        let before = try fixture.snapshot()
        let scratch = try await fixture.run(build(
            .shell("pwd; ls; echo changed > src/main.c; touch new; rm Makefile; cat src/main.c > \"$KILN_OUT/copy\""),
            inputs: [fixture.input("src"), fixture.input("Makefile")]))
        defer { scratch.remove() }
        #expect(fixture.log.texts == [scratch.context, "Makefile", "src"])
        #expect(scratch.workingDirectory == scratch.context)
        #expect(!scratch.context.hasPrefix(fixture.context))
        #expect(fileText(scratch.output + "/copy") == "changed\n")
        #expect(try fixture.snapshot() == before)
    }

    @Test func workingDirectoryIsThePlanDirectoryPlaceThenWorkdir() async throws {
        let fixture = try BuildFixture(planPlace: "services/app")
        try fixture.write("services/app/build.sh", "#!/bin/sh\necho built\n", mode: 0o755)
        try fixture.write("lib/shared.h", "#define X\n")
        let scratch = try await fixture.run(build(
            .shell("pwd; ls ../../../../lib"),
            inputs: [fixture.input("services/app/build.sh"), fixture.input("lib")],
            workdir: "sub/dir"))
        defer { scratch.remove() }
        #expect(scratch.workingDirectory == scratch.context + "/services/app/sub/dir")
        #expect(fixture.log.texts == [scratch.workingDirectory, "shared.h"])
    }

    @Test func inputModesAreNormalizedSymlinksKeptAndTimesClamped() async throws {
        let fixture = try BuildFixture()
        try fixture.write("tree/tool", "#!/bin/sh\n", mode: 0o775)
        try fixture.write("tree/data", "data\n", mode: 0o664)
        try fixture.write("tree/private", "p\n", mode: 0o600)
        chmod(fixture.context + "/tree", 0o775)
        symlink("../outside/target", fixture.context + "/tree/link")
        let scratch = try await fixture.run(build(.shell("true"), inputs: [fixture.input("tree")]))
        defer { scratch.remove() }
        let copied = scratch.context + "/tree"
        #expect(try BuildFixture.listing(of: copied) == [
            "data 100644 5 1704067200",
            "link 120777 17 1704067200",
            "private 100644 2 1704067200",
            "tool 100755 10 1704067200",
        ])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: copied + "/link") == "../outside/target")
        var info = stat()
        lstat(copied, &info)
        #expect(info.st_mode & 0o7777 == 0o755)
        #expect(info.st_mtim.tv_sec == 1_704_067_200)
    }

    @Test func nestedAndWholeContextInputsAreCopiedOnce() async throws {
        let fixture = try BuildFixture()
        try fixture.write("src/a", "a\n")
        try fixture.write("src/deep/b", "b\n")
        let scratch = try await fixture.run(build(.shell("find . | sort"),
            inputs: [fixture.input("src/deep/b"), fixture.input("src"), fixture.input(".")]))
        defer { scratch.remove() }
        #expect(fixture.log.texts == [".", "./src", "./src/a", "./src/deep", "./src/deep/b"])
    }

    @Test func environmentIsExactlyTheDocumentedOne() async throws {
        setenv("KILN_BUILD_TEST_LEAK", "leaked", 1)
        let fixture = try BuildFixture()
        let scratch = try await fixture.run(build(.argv(["env"]), env: ["EXTRA": "1"]))
        defer { scratch.remove() }
        #expect(fixture.log.texts.sorted() == [
            "EXTRA=1",
            "HOME=\(scratch.home)",
            "KILN_ARCH=amd64", "KILN_OS=linux",
            "KILN_OUT=\(scratch.output)",
            "KILN_PLATFORM=linux/amd64",
            "LC_ALL=C",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SOURCE_DATE_EPOCH=1704067200",
            "TARGETARCH=amd64", "TARGETOS=linux", "TARGETPLATFORM=linux/amd64", "TARGETVARIANT=",
            "TMPDIR=\(scratch.temporary)",
            "TZ=UTC",
        ])
        #expect(scratch.home.hasPrefix(scratch.root + "/") && scratch.temporary.hasPrefix(scratch.root + "/"))
    }

    @Test func layerEnvironmentOverridesPathLocaleAndZone() async throws {
        let fixture = try BuildFixture()
        try fixture.write("tools/hello", "#!/bin/sh\necho hello from tools $LC_ALL $TZ\n", mode: 0o755)
        let scratch = try await fixture.run(build(.argv(["hello"]), inputs: [fixture.input("tools")],
                                                  env: ["PATH": "/nonexistent:tools", "LC_ALL": "C.UTF-8", "TZ": "Europe/Paris"]))
        defer { scratch.remove() }
        #expect(fixture.log.texts == ["hello from tools C.UTF-8 Europe/Paris"])
    }

    @Test(arguments: BuildStrategy.reservedVariables)
    func reservedVariablesCannotBeOverridden(_ variable: String) async throws {
        let fixture = try BuildFixture()
        await #expect(throws: BuildError(layer: "app", reason: .reservedVariable(variable))) {
            _ = try await fixture.run(build(.shell("true"), env: [variable: "/tmp", "LC_ALL": "C.UTF-8"]))
        }
        #expect(fixture.scratchEntries.isEmpty)
        #expect(BuildError(layer: "app", reason: .reservedVariable("KILN_OUT")).description
            == "layer \"app\": env: KILN_OUT is set by kiln and cannot be overridden")
    }

    @Test func runsWithUmask022AndStdinFromDevNull() async throws {
        let fixture = try BuildFixture()
        let scratch = try await fixture.run(build(.shell("umask; cat; touch \"$KILN_OUT/f\"; mkdir \"$KILN_OUT/d\"")))
        defer { scratch.remove() }
        #expect(fixture.log.texts == ["0022"])
        var info = stat()
        lstat(scratch.output + "/f", &info)
        #expect(info.st_mode & 0o7777 == 0o644)
        lstat(scratch.output + "/d", &info)
        #expect(info.st_mode & 0o7777 == 0o755)
    }

    @Test func argvCommandsAreLookedUpAndRunWithoutAShell() async throws {
        let fixture = try BuildFixture()
        try fixture.write("gen.sh", "#!/bin/sh\nprintf '%s|' \"$@\"; echo\n", mode: 0o755)
        let scratch = try await fixture.run(build(.argv(["./gen.sh", "a b", "$HOME", "*"]), inputs: [fixture.input("gen.sh")]))
        defer { scratch.remove() }
        #expect(fixture.log.texts == ["a b|$HOME|*|"])
    }

    @Test func missingProgramIsAnError() async throws {
        let fixture = try BuildFixture()
        let error = BuildError(layer: "app", reason: .commandNotFound(name: "no-such-tool", searchPath: BuildStrategy.defaultSearchPath))
        await #expect(throws: error) { _ = try await fixture.run(build(.argv(["no-such-tool", "x"]))) }
        #expect(error.description == "layer \"app\": command \"no-such-tool\" not found in PATH "
            + "\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"")
        #expect(fixture.scratchEntries.isEmpty)
        let relative = BuildError(layer: "app", reason: .commandNotFound(name: "./gen.sh", searchPath: ""))
        #expect(relative.description == "layer \"app\": command \"./gen.sh\" is not an executable file")
    }

    @Test func emptyArgvIsAnError() async throws {
        let fixture = try BuildFixture()
        await #expect(throws: BuildError(layer: "app", reason: .emptyCommand)) {
            _ = try await fixture.run(build(.argv([])))
        }
        #expect(BuildError(layer: "app", reason: .emptyCommand).description
            == "layer \"app\": command is an empty list (give a program and its arguments, or a string for /bin/sh -c)")
    }

    @Test func failureReportsStatusAndTailAndRemovesTheScratch() async throws {
        let fixture = try BuildFixture()
        let script = "for i in $(seq 1 25); do echo line $i; done; echo oops >&2; exit 3"
        let expected = BuildError(layer: "app", reason: .commandFailed(
            termination: .exited(3),
            lastLines: (7...25).map { "line \($0)" } + ["oops"], keptScratch: nil))
        await #expect(throws: expected) { _ = try await fixture.run(build(.shell(script))) }
        #expect(expected.description == "layer \"app\": command exited with status 3\nlast lines of output:\n"
            + (7...25).map { "  line \($0)\n" }.joined() + "  oops")
        #expect(fixture.log.texts.count == 26)
        #expect(fixture.scratchEntries.isEmpty)
    }

    @Test func failureKeepsTheScratchWhenAsked() async throws {
        let fixture = try BuildFixture()
        do {
            _ = try await fixture.run(build(.shell("touch \"$KILN_OUT/partial\"; exit 1")), keepScratch: true)
            Issue.record("the command failed, the run did not")
        } catch {
            let entries = fixture.scratchEntries
            try #require(entries.count == 1)
            let kept = fixture.scratchRoot + "/" + entries[0]
            #expect(error == BuildError(layer: "app", reason: .commandFailed(termination: .exited(1), lastLines: [], keptScratch: kept)))
            #expect(error.description == "layer \"app\": command exited with status 1\nscratch directory kept at \(kept)")
            #expect(FileManager.default.fileExists(atPath: kept + "/out/partial"))
        }
    }

    @Test func signalIsNamed() async throws {
        let fixture = try BuildFixture()
        let expected = BuildError(layer: "app", reason: .commandFailed(termination: .signaled(SIGTERM), lastLines: ["bye"], keptScratch: nil))
        await #expect(throws: expected) { _ = try await fixture.run(build(.shell("echo bye; kill -TERM $$"))) }
        #expect(expected.description == "layer \"app\": command was killed by SIGTERM\nlast lines of output:\n  bye")
    }

    @Test func timeoutKillsTheCommand() async throws {
        let fixture = try BuildFixture()
        let expected = BuildError(layer: "app", reason: .commandFailed(termination: .timedOut(seconds: 1), lastLines: ["waiting"], keptScratch: nil))
        await #expect(throws: expected) { _ = try await fixture.run(build(.shell("echo waiting; sleep 60"), timeout: 1)) }
        #expect(expected.description == "layer \"app\": command timed out after 1 s\nlast lines of output:\n  waiting")
        #expect(fixture.scratchEntries.isEmpty)
    }

    @Test func specialInputIsRefused() async throws {
        let fixture = try BuildFixture()
        try fixture.write("dir/ok", "x")
        mkfifo(fixture.context + "/dir/pipe", 0o644)
        let error = BuildError(layer: "app", reason: .unsupportedInput(path: fixture.context + "/dir/pipe", kind: "a FIFO"))
        await #expect(throws: error) { _ = try await fixture.run(build(.shell("true"), inputs: [fixture.input("dir")])) }
        #expect(error.description == "layer \"app\": input \(fixture.context)/dir/pipe is a FIFO; inputs may hold only files, directories and symlinks")
        #expect(fixture.scratchEntries.isEmpty)
    }

    @Test func workdirErrors() async throws {
        let fixture = try BuildFixture()
        try fixture.write("file", "x")
        symlink("/etc", fixture.context + "/escape")
        let invalid = BuildError(layer: "app", reason: .invalidWorkdir("../up"))
        await #expect(throws: invalid) { _ = try await fixture.run(build(.shell("true"), workdir: "../up")) }
        #expect(invalid.description == "layer \"app\": workdir \"../up\" must be a relative path without \".\" or \"..\" components")
        let throughLink = BuildError(layer: "app", reason: .workdirThroughSymlink(workdir: "escape/x", symlink: "escape"))
        await #expect(throws: throughLink) {
            _ = try await fixture.run(build(.shell("true"), inputs: [fixture.input("escape")], workdir: "escape/x"))
        }
        #expect(throughLink.description == "layer \"app\": workdir \"escape/x\" passes through the symlink \"escape\" of the inputs")
        #expect(!FileManager.default.fileExists(atPath: "/etc/x"))
        let notDirectory = BuildError(layer: "app", reason: .workdirNotDirectory("file"))
        await #expect(throws: notDirectory) {
            _ = try await fixture.run(build(.shell("true"), inputs: [fixture.input("file")], workdir: "file"))
        }
        #expect(notDirectory.description == "layer \"app\": workdir \"file\" is an input that is not a directory")
        #expect(fixture.scratchEntries.isEmpty)
    }

    @Test func planDirectoryOutsideTheContextIsAnError() async throws {
        let fixture = try BuildFixture()
        var context = fixture.strategyContext()
        context.plan.directory = "/elsewhere"
        let error = BuildError(layer: "app", reason: .planDirectoryOutsideContext(directory: "/elsewhere", context: fixture.context))
        await #expect(throws: error) {
            _ = try await BuildStrategy.run(build(.shell("true")), context: context, toolSearchPath: "")
        }
        #expect(error.description == "layer \"app\": the plan directory /elsewhere is not inside the context \(fixture.context)")
    }

    @Test func missingScratchRootIsAnError() async throws {
        let fixture = try BuildFixture()
        var context = fixture.strategyContext()
        context.scratchRoot = fixture.directory.path + "/no-such-root"
        let error = BuildError(layer: "app", reason: .fileSystem(operation: "create a scratch directory in", path: context.scratchRoot, errno: ENOENT))
        await #expect(throws: error) {
            _ = try await BuildStrategy.run(build(.shell("true")), context: context, toolSearchPath: "")
        }
        #expect(error.description
            == "layer \"app\": cannot create a scratch directory in \(context.scratchRoot): No such file or directory")
    }

    @Test func otherMessages() {
        #expect(BuildError(layer: "app", reason: .fileSystem(operation: "read", path: "/x", errno: EACCES)).description
            == "layer \"app\": cannot read /x: Permission denied")
        #expect(BuildError(layer: "app", reason: .cannotRun(.spawnFailed(executable: "/bin/sh", errno: ENOENT))).description
            == "layer \"app\": cannot run /bin/sh: No such file or directory")
        #expect(BuildError(layer: "app", reason: .unreadableOutput(.unreadableDirectory("/s/out/d", errno: EACCES))).description
            == "layer \"app\": output: cannot read directory /s/out/d: Permission denied")
    }
}

@Suite struct BuildStrategyOutputTests {
    @Test func outputBecomesTheLayerWithModesKeptAndOwnersCleared() async throws {
        let fixture = try BuildFixture()
        let script = """
            cd "$KILN_OUT"
            mkdir -p usr/bin etc/private var/empty
            printf 'tool' > usr/bin/tool; chmod 4755 usr/bin/tool
            printf 'secret' > etc/private/key; chmod 0600 etc/private/key; chmod 0700 etc/private
            ln -s ../usr/bin/tool etc/tool-link
            ln usr/bin/tool usr/bin/tool-again
            chown 1000:1000 etc/private/key 2>/dev/null || true
            """
        let prepared = try await BuildStrategy(build(.shell(script)), toolSearchPath: BuildStrategy.defaultSearchPath)
            .prepare(fixture.strategyContext())
        #expect(try describe(prepared.tree) == [
            "etc 755 0:0 dir",
            "etc/private 700 0:0 dir",
            "etc/private/key 600 0:0 file 6",
            "etc/tool-link 777 0:0 symlink ../usr/bin/tool",
            "usr 755 0:0 dir",
            "usr/bin 755 0:0 dir",
            "usr/bin/tool 4755 0:0 file 4",
            "usr/bin/tool-again 4755 0:0 hardlink usr/bin/tool",
            "var 755 0:0 dir",
            "var/empty 755 0:0 dir",
        ])
        // Only $KILN_OUT remains until the pipeline has streamed the layer.
        let root = try #require(prepared.temporaryDirectories.first)
        #expect(prepared.temporaryDirectories == [root])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["out"])
        TreeRemoval.remove(root)
        #expect(fixture.scratchEntries.isEmpty)
    }

    @Test func twoRunsOfADeterministicCommandGiveTheSameTree() async throws {
        let fixture = try BuildFixture()
        try fixture.write("src/a.txt", "alpha\n")
        try fixture.write("src/b.txt", "beta\n")
        let layer = build(.shell("mkdir -p \"$KILN_OUT/share\" && for f in src/*; do sort \"$f\" > \"$KILN_OUT/share/${f#src/}\"; done"),
                          inputs: [fixture.input("src")])
        let first = try await BuildStrategy(layer, toolSearchPath: "").prepare(fixture.strategyContext())
        let second = try await BuildStrategy(layer, toolSearchPath: "").prepare(fixture.strategyContext())
        defer { (first.temporaryDirectories + second.temporaryDirectories).forEach(TreeRemoval.remove) }
        #expect(try describe(first.tree) == describe(second.tree))
        #expect(try describe(first.tree).count == 3)
    }

    @Test func specialFilesInTheOutputAreRefused() async throws {
        let fixture = try BuildFixture()
        let error = BuildError(layer: "app", reason: .unsupportedOutput(path: "run/fifo", kind: "a FIFO"))
        await #expect(throws: error) {
            _ = try await BuildStrategy(build(.shell("mkdir \"$KILN_OUT/run\" && mkfifo \"$KILN_OUT/run/fifo\"")), toolSearchPath: "")
                .prepare(fixture.strategyContext())
        }
        #expect(error.description
            == "layer \"app\": $KILN_OUT/run/fifo is a FIFO; a layer may hold only files, directories, symlinks and hardlinks")
        #expect(fixture.scratchEntries.isEmpty)
    }

    @Test func keptScratchIsNotTemporaryAndTheLogSaysWhere() async throws {
        let fixture = try BuildFixture()
        let prepared = try await BuildStrategy(build(.shell("echo hi > \"$KILN_OUT/f\"")), toolSearchPath: "")
            .prepare(fixture.strategyContext(keepScratch: true))
        let entries = fixture.scratchEntries
        try #require(entries.count == 1)
        let kept = fixture.scratchRoot + "/" + entries[0]
        #expect(prepared.temporaryDirectories.isEmpty)
        #expect(fixture.log.texts == ["scratch directory kept at \(kept)"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: kept).sorted() == ["context", "home", "out", "tmp"])
    }
}

@Suite struct BuildStrategyPeerTests {
    /// The layer as GNU tar lists and extracts it, whatever kiln's umask
    /// and the command's own mtimes.
    @Test(.requires(.onBuildSearchPath("tar"))) func gnuTarReadsTheLayerAsTheCommandWroteIt() async throws {
        let fixture = try BuildFixture()
        try fixture.write("src/greeting", "hello\n")
        let script = """
            mkdir -p "$KILN_OUT/opt/app/bin" "$KILN_OUT/var/cache"
            cp src/greeting "$KILN_OUT/opt/app/greeting"
            printf '#!/bin/sh\\n' > "$KILN_OUT/opt/app/bin/run"; chmod 0750 "$KILN_OUT/opt/app/bin/run"
            ln -s ../greeting "$KILN_OUT/opt/app/bin/greeting"
            touch -d 2001-02-03 "$KILN_OUT/opt/app/greeting"
            """
        let prepared = try await BuildStrategy(build(.shell(script), inputs: [fixture.input("src")]), toolSearchPath: "")
            .prepare(fixture.strategyContext())
        defer { prepared.temporaryDirectories.forEach(TreeRemoval.remove) }
        let blob = fixture.directory.path + "/layer.tar"
        let writer = LayerWriter(compression: .none, modificationTime: BuildFixture.created, workers: LayerWorkers(count: 1))
        _ = try await writer.write(prepared.tree, to: blob)

        let listing = BuildLineRecorder()
        let list = ChildProcess(executable: "/usr/bin/env", arguments: ["env", "TZ=UTC", "tar", "--numeric-owner", "-tvf", blob],
                                environment: ["PATH": BuildStrategy.defaultSearchPath])
        #expect(try await list.run(onLine: listing.record).termination == .exited(0))
        #expect(listing.texts == [
            "drwxr-xr-x 0/0               0 2024-01-01 00:00 opt",
            "drwxr-xr-x 0/0               0 2024-01-01 00:00 opt/app",
            "drwxr-xr-x 0/0               0 2024-01-01 00:00 opt/app/bin",
            "lrwxrwxrwx 0/0               0 2024-01-01 00:00 opt/app/bin/greeting -> ../greeting",
            "-rwxr-x--- 0/0              10 2024-01-01 00:00 opt/app/bin/run",
            "-rw-r--r-- 0/0               6 2024-01-01 00:00 opt/app/greeting",
            "drwxr-xr-x 0/0               0 2024-01-01 00:00 var",
            "drwxr-xr-x 0/0               0 2024-01-01 00:00 var/cache",
        ])
        let extracted = fixture.directory.path + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        let extract = ChildProcess(executable: "/usr/bin/env", arguments: ["env", "tar", "-xf", blob, "-C", extracted],
                                   environment: ["PATH": BuildStrategy.defaultSearchPath])
        #expect(try await extract.run { _ in }.termination == .exited(0))
        #expect(fileText(extracted + "/opt/app/greeting") == "hello\n")
        #expect(fileText(extracted + "/opt/app/bin/greeting") == "hello\n")
    }
}

@Suite struct BuildSandboxTests {
    @Test func missingBubblewrapIsAnErrorNotAFallback() async throws {
        let fixture = try BuildFixture()
        let error = BuildError(layer: "app", reason: .sandboxToolMissing(searchPath: "/nonexistent"))
        await #expect(throws: error) {
            _ = try await fixture.run(build(.shell("true"), sandbox: .isolated), toolSearchPath: "/nonexistent")
        }
        #expect(error.description
            == "layer \"app\": sandbox: isolated needs bwrap, which is not in PATH \"/nonexistent\" (install the bubblewrap package)")
    }

    @Test(.requires(.onBuildSearchPath("bwrap"))) func onlyTheScratchIsWritable() async throws {
        let fixture = try BuildFixture()
        try fixture.write("in/file", "input\n")
        // Outside /tmp, which the sandbox replaces (and the fixture lives in).
        let probe = "/var/tmp/kiln-sandbox-probe-" + UUID().uuidString
        defer { unlink(probe) }
        let script = """
            touch \(probe) 2>/dev/null && echo host-writable
            echo ok > "$KILN_OUT/result"; touch "$HOME/h" "$TMPDIR/t" /tmp/t in/changed && echo scratch-writable
            ls /tmp
            """
        let scratch = try await fixture.run(build(.shell(script), inputs: [fixture.input("in")], sandbox: .isolated))
        defer { scratch.remove() }
        // /tmp is fresh: only the scratch's fixed mount point and what was written.
        #expect(fixture.log.texts == ["scratch-writable", "kiln", "t"])
        #expect(!FileManager.default.fileExists(atPath: probe))
        #expect(fileText(scratch.output + "/result") == "ok\n")
        // The same probe outside the sandbox does write, so the test can fail.
        let open = try await fixture.run(build(.shell("touch \(probe) && echo host-writable")))
        open.remove()
        #expect(fixture.log.texts.last == "host-writable")
    }

    /// What docs/build-and-derivation-layers.md says of the sandbox's
    /// network: its own loopback and no other interface or route.
    @Test(.requires(.onBuildSearchPath("bwrap"))) func isolatedNetworkIsOnlyItsOwnLoopback() async throws {
        let fixture = try BuildFixture()
        let script = """
            tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '
            echo "routes $(tail -n +2 /proc/net/route | wc -l)"
            """
        let scratch = try await fixture.run(build(.shell(script), sandbox: .isolated))
        scratch.remove()
        #expect(fixture.log.texts == ["lo", "routes 0"])
    }

    @Test(.requires(.onBuildSearchPath("bwrap"))) func environmentIsTheSameInsideAtFixedPaths() async throws {
        let fixture = try BuildFixture()
        // (The shell adds PWD itself; kiln does not set it.)
        let scratch = try await fixture.run(build(.shell("env -u PWD; pwd"), sandbox: .isolated))
        defer { scratch.remove() }
        // The scratch is mounted at /tmp/kiln whatever its host path, so a
        // command that records its directories writes the same bytes anywhere.
        #expect(fixture.log.texts.sorted() == [
            "/tmp/kiln/context",
            "HOME=/tmp/kiln/home", "KILN_ARCH=amd64", "KILN_OS=linux", "KILN_OUT=/tmp/kiln/out", "KILN_PLATFORM=linux/amd64", "LC_ALL=C",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SOURCE_DATE_EPOCH=1704067200",
            "TARGETARCH=amd64", "TARGETOS=linux", "TARGETPLATFORM=linux/amd64", "TARGETVARIANT=",
            "TMPDIR=/tmp/kiln/tmp", "TZ=UTC",
        ])
        #expect(!scratch.root.hasPrefix("/tmp/kiln/"))
    }

    @Test(.requires(.onBuildSearchPath("bwrap"), .onBuildSearchPath("/bin/bash")))
    func networkIsUnreachable() async throws {
        let listener = try LoopbackListener()
        let fixture = try BuildFixture()
        let script = "exec 3<>/dev/tcp/127.0.0.1/\(listener.port) && echo connected"
        // The same command reaches the listener without the sandbox, so the
        // sandboxed failure is the namespace's doing.
        let open = try await fixture.run(build(.argv(["/bin/bash", "-c", script])))
        open.remove()
        #expect(fixture.log.texts == ["connected"])
        do {
            _ = try await fixture.run(build(.argv(["/bin/bash", "-c", script]), sandbox: .isolated))
            Issue.record("the sandboxed command reached the loopback listener")
        } catch {
            guard case .commandFailed(termination: .exited(1), let lastLines, nil) = error.reason else {
                Issue.record("unexpected error: \(error)")
                return
            }
            #expect(lastLines.last?.hasSuffix("Connection refused") == true)
        }
        #expect(fixture.log.texts.filter { $0 == "connected" }.count == 1)
    }

    @Test(.requires(.onBuildSearchPath("bwrap"))) func timeoutKillsTheSandbox() async throws {
        let fixture = try BuildFixture()
        let expected = BuildError(layer: "app", reason: .commandFailed(termination: .timedOut(seconds: 1), lastLines: [], keptScratch: nil))
        await #expect(throws: expected) {
            _ = try await fixture.run(build(.shell("sleep 60"), sandbox: .isolated, timeout: 1))
        }
    }
}

/// A TCP listener on 127.0.0.1 at a free port, closed on deinit.
final class LoopbackListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && listen(descriptor, 4) == 0
                    && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit {
        close(descriptor)
    }
}
