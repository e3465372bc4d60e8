import Foundation
import Testing
import TestSupport
@testable import KilnProcess


func testShell(_ script: String, timeout: Int? = nil, environment: [String: String] = ["PATH": "/usr/bin:/bin"],
           workingDirectory: String? = nil, umask: UInt16? = nil) -> ChildProcess {
    ChildProcess(
        executable: "/bin/sh", arguments: ["/bin/sh", "-c", script], environment: environment,
        workingDirectory: workingDirectory, umask: umask, timeout: timeout
    )
}

@Suite struct BuildChildProcessTests {
    @Test func streamsWholeLinesFromBothStreamsAndKeepsTheTail() async throws {
        let recorder = BuildLineRecorder()
        let outcome = try await testShell("for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf 'no newline'")
            .run(onLine: recorder.record)
        #expect(outcome.termination == .exited(0))
        #expect(recorder.lines.filter { $0.stream == .standardOutput }.map(\.text) == ["out1", "out2", "out3", "no newline"])
        #expect(recorder.lines.filter { $0.stream == .standardError }.map(\.text) == ["err1", "err2", "err3"])
        #expect(Set(outcome.lastLines) == Set(recorder.texts))
    }

    @Test func keepsOnlyTheLastLines() async throws {
        var process = testShell("seq 1 100")
        process.tailLineCount = 5
        let outcome = try await process.run { _ in }
        #expect(outcome.lastLines == ["96", "97", "98", "99", "100"])
    }

    @Test func splitsOverlongLinesAtTheLimit() async throws {
        let recorder = BuildLineRecorder()
        let length = ChildProcess.maximumLineLength * 2 + 10
        _ = try await testShell("head -c \(length) /dev/zero | tr '\\0' x").run(onLine: recorder.record)
        #expect(recorder.texts.map(\.count) == [ChildProcess.maximumLineLength, ChildProcess.maximumLineLength, 10])
    }

    @Test func reportsExitStatusAndSignal() async throws {
        let failed = try await testShell("exit 3").run { _ in }
        #expect(failed.termination == .exited(3))
        #expect(failed.termination.description == "exited with status 3")
        let killed = try await testShell("kill -SEGV $$").run { _ in }
        #expect(killed.termination == .signaled(SIGSEGV))
        #expect(killed.termination.description == "was killed by SIGSEGV")
    }

    @Test func passesExactlyTheGivenEnvironment() async throws {
        setenv("KILN_TEST_LEAK", "leaked", 1)
        let recorder = BuildLineRecorder()
        _ = try await ChildProcess(executable: "/usr/bin/env", arguments: ["env"], environment: ["ONLY": "this"])
            .run(onLine: recorder.record)
        #expect(recorder.texts == ["ONLY=this"])
    }

    @Test func startsInTheWorkingDirectoryWithStdinFromDevNull() async throws {
        let directory = try TemporaryDirectory()
        let recorder = BuildLineRecorder()
        _ = try await testShell("pwd; cat; echo end", workingDirectory: directory.path).run(onLine: recorder.record)
        #expect(recorder.texts == [directory.path, "end"])
    }

    @Test func appliesTheRequestedUmask() async throws {
        // Not kiln's (the test runner's) umask, which is left alone: other
        // tests create files concurrently.
        let recorder = BuildLineRecorder()
        _ = try await testShell("umask", umask: 0o027).run(onLine: recorder.record)
        #expect(recorder.texts == ["0027"])
    }

    @Test func runsInItsOwnProcessGroup() async throws {
        let recorder = BuildLineRecorder()
        _ = try await testShell("cut -d' ' -f5 /proc/$$/stat; echo $$").run(onLine: recorder.record)
        let values = recorder.texts.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(values.count == 2 && values[0] == values[1])
        #expect(values.first != String(getpgrp()))
    }

    @Test func closesDescriptorsKilnOpened() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("held", "x")
        let held = open(directory.path + "/held", O_RDONLY)
        defer { close(held) }
        let recorder = BuildLineRecorder()
        _ = try await testShell("ls /proc/self/fd").run(onLine: recorder.record)
        // 0, 1, 2 and the directory ls itself opens; kiln's own (the test
        // runner's many, `held` among them) are gone.
        #expect(held > 3)
        #expect(recorder.texts == ["0", "1", "2", "3"])
    }

    @Test func timeoutKillsTheWholeGroup() async throws {
        let directory = try TemporaryDirectory()
        let marker = directory.path + "/marker"
        // The background sleeper is in the same group; were it to survive it
        // would create the marker once the group was supposed to be dead.
        let outcome = try await testShell("(sleep 2; touch \(marker)) & echo started; sleep 60", timeout: 1).run { _ in }
        #expect(outcome.termination == .timedOut(seconds: 1))
        #expect(outcome.termination.description == "timed out after 1 s")
        #expect(outcome.lastLines == ["started"])
        try await Task.sleep(for: .seconds(2))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func backgroundLeftoversDoNotHoldTheRunOpen() async throws {
        // Without the group kill at exit the run would wait for the sleeper,
        // which holds the output pipe, and the test would take 60 s.
        let outcome = try await testShell("sleep 60 & echo done").run { _ in }
        #expect(outcome.termination == .exited(0))
        #expect(outcome.lastLines == ["done"])
    }

    @Test func cancellationKillsTheGroup() async throws {
        let task = Task { try await testShell("echo started; sleep 60").run { _ in } }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        #expect(throws: ChildProcessError.cancelled(executable: "/bin/sh")) { try result.get() }
        #expect(ChildProcessError.cancelled(executable: "/bin/sh").description
            == "/bin/sh was cancelled and its process group killed")
    }

    @Test func spawnFailureNamesTheProgram() async throws {
        let missing = ChildProcess(executable: "/nonexistent/tool", arguments: ["tool"], environment: [:])
        await #expect(throws: ChildProcessError.spawnFailed(executable: "/nonexistent/tool", errno: ENOENT)) {
            _ = try await missing.run { _ in }
        }
        #expect(ChildProcessError.spawnFailed(executable: "/nonexistent/tool", errno: ENOENT).description
            == "cannot run /nonexistent/tool: No such file or directory")
    }

    @Test func otherErrorMessages() {
        #expect(ChildProcessError.systemCallFailed(call: "poll", errno: EINVAL).description == "poll failed: Invalid argument")
        #expect(ChildProcessError.missingLibraryFunction("pipe2").description
            == "the C library has no pipe2 (kiln needs glibc 2.34 or later to run commands)")
        #expect(ChildProcess.signalName(SIGKILL) == "SIGKILL")
        #expect(ChildProcess.signalName(40) == "signal 40")
    }

    @Test func locatesProgramsLikeExecvp() throws {
        let directory = try TemporaryDirectory()
        try directory.write("bin/tool", "#!/bin/sh\n", mode: 0o755)
        try directory.write("bin/plain", "data", mode: 0o644)
        try directory.write("other/tool", "#!/bin/sh\n", mode: 0o755)
        let searchPath = "\(directory.path)/missing:\(directory.path)/bin:\(directory.path)/other"
        #expect(ChildProcess.locate("tool", searchPath: searchPath, relativeTo: "/") == directory.path + "/bin/tool")
        #expect(ChildProcess.locate("plain", searchPath: searchPath, relativeTo: "/") == nil)
        #expect(ChildProcess.locate("bin/tool", searchPath: "", relativeTo: directory.path) == directory.path + "/bin/tool")
        #expect(ChildProcess.locate("tool", searchPath: "bin", relativeTo: directory.path) == directory.path + "/bin/tool")
        #expect(ChildProcess.locate("", searchPath: searchPath, relativeTo: "/") == nil)
    }
}
