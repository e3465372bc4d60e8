import Foundation
import Glibc
import Testing
import TestSupport
@testable import KilnProcess

/// ``ChildProcess/capture()``, standard input from bytes, the wait-status
/// decoding of the CLinux shim, and many async runs sharing one poll thread.
@Suite struct ChildProcessCaptureTests {
    @Test func capturesEachStreamByteForByte() throws {
        let captured = try testShell("printf 'a\\000b\\377'; printf 'e1\\ne2' >&2").capture()
        #expect(captured.termination == .exited(0))
        #expect(captured.standardOutput == [0x61, 0x00, 0x62, 0xFF])
        #expect(captured.standardError == Array("e1\ne2".utf8))
    }

    @Test func feedsStandardInputFromBytes() throws {
        let input = Array("first\nsecond".utf8)
        var process = testShell("cat; echo; cat")
        process.standardInput = .bytes(input)
        let captured = try process.capture()
        // The second cat finds end of file: the bytes are read once.
        #expect(captured.standardOutput == input + [0x0A])
    }

    @Test func largeInputAndOutputOnBothStreamsDoNotBlock() throws {
        // More than a pipe holds (64 KiB), on every stream at once.
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var process = testShell("tee /dev/stderr")
        process.standardInput = .bytes(input)
        let captured = try process.capture()
        #expect(captured.termination == .exited(0))
        #expect(captured.standardOutput == input)
        #expect(captured.standardError == input)
    }

    @Test func asyncRunsReadStandardInputBytesToo() async throws {
        let recorder = BuildLineRecorder()
        var process = testShell("cat")
        process.standardInput = .bytes(Array("one\ntwo\n".utf8))
        _ = try await process.run(onLine: recorder.record)
        #expect(recorder.texts == ["one", "two"])
    }

    @Test func captureReportsExitStatusSignalAndTimeout() throws {
        #expect(try testShell("echo gone >&2; exit 4").capture().termination == .exited(4))
        #expect(try testShell("kill -KILL $$").capture().termination == .signaled(SIGKILL))
        let timedOut = try testShell("echo started; sleep 60", timeout: 1).capture()
        #expect(timedOut.termination == .timedOut(seconds: 1))
        #expect(timedOut.standardOutput == Array("started\n".utf8))
    }

    @Test func captureSpawnFailureNamesTheProgram() {
        #expect(throws: ChildProcessError.spawnFailed(executable: "/nonexistent/tool", errno: ENOENT)) {
            try ChildProcess(executable: "/nonexistent/tool", arguments: ["tool"], environment: [:]).capture()
        }
    }

    @Test func decodesTheWaitStatusOfAKilledAndAnExitedChild() throws {
        // A child spawned and reaped here, so the status word is the
        // kernel's, not one the runner made.
        func status(of arguments: [String], killing signal: Int32? = nil) throws -> Int32 {
            var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
            defer { for pointer in argv { free(pointer) } }
            var pid: pid_t = 0
            try #require(posix_spawn(&pid, arguments[0], nil, nil, &argv, nil) == 0)
            if let signal { kill(pid, signal) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 { try #require(errno == EINTR) }
            return status
        }
        let killed = try status(of: ["/bin/sleep", "30"], killing: SIGKILL)
        #expect(ChildProcess.Termination(waitStatus: killed) == .signaled(SIGKILL))
        let exited = try status(of: ["/bin/sh", "-c", "exit 201"])
        #expect(ChildProcess.Termination(waitStatus: exited) == .exited(201))
    }

    @Test func manyConcurrentRunsShareOnePollThread() async throws {
        // Each child waits before it prints: all of them are suspended in
        // the poll thread at once, and each gets its own lines back.
        let count = 24
        let outcomes = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for index in 0..<count {
                group.addTask {
                    let recorder = BuildLineRecorder()
                    let outcome = try await testShell("sleep 0.3; echo \(index); echo e\(index) >&2").run(onLine: recorder.record)
                    #expect(outcome.termination == .exited(0))
                    return (index, recorder.texts.sorted())
                }
            }
            var results: [Int: [String]] = [:]
            for try await (index, lines) in group { results[index] = lines }
            return results
        }
        #expect(outcomes.count == count)
        for (index, lines) in outcomes { #expect(lines == ["\(index)", "e\(index)"]) }
    }
}
