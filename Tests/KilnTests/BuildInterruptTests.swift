import Foundation
import Glibc
import KilnCore
import Testing
import TestSupport

/// `kiln build` stopped by SIGINT or SIGTERM while a build command runs:
/// the command's processes die with the build, staging and scratch are
/// removed, the previous output stays, and kiln exits 128 + the signal.
@Suite(.requires(.kilnBinary))
struct BuildInterruptTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    /// `plan/plan.yaml`: a build command that starts a background sleep,
    /// writes its pid to `marks/sleep.pid`, waits for it and then writes
    /// `late` (which it never reaches when the build is stopped).
    func writeSlowPlan(marks: String, late: String) throws {
        try scratch.write("plan/plan.yaml", """
            kiln: 1
            name: example.com/interrupt
            layers:
              - name: slow
                type: build
                command: |
                  sleep 60 &
                  echo $! > \(marks)/sleep.pid
                  wait
                  echo late > \(late)

            """)
    }

    /// Starts `kiln build plan/plan.yaml -o out` and returns once its
    /// command has started, which it says by writing its background
    /// sleep's pid to `marks/sleep.pid`.
    func startSlowBuild(environment: [String: String], errors: Any, marks: String) throws -> (Process, pid_t) {
        let kiln = Process()
        kiln.executableURL = URL(fileURLWithPath: KilnBinary.path)
        kiln.arguments = ["build", "plan/plan.yaml", "-o", "out"]
        kiln.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        kiln.environment = environment
        kiln.standardError = errors
        kiln.standardOutput = FileHandle.nullDevice
        try kiln.run()
        for _ in 0..<600 {
            if let text = try? Files.text(marks + "/sleep.pid"), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (kiln, pid)
            }
            usleep(50_000)
        }
        kiln.terminate()
        throw TestSupportError("the build command never started")
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalStopsTheBuildAndLeavesNothingBehind(signal: Int32) throws {
        let tmpdir = try scratch.directory("tmp")
        let marks = try scratch.directory("marks")
        try writeSlowPlan(marks: marks, late: "\"$KILN_OUT/late\"")
        try scratch.write("good/plan.yaml", "kiln: 1\nname: example.com/interrupt\nlayers:\n  - { name: a, type: files, files: [{ path: /a, content: a }] }\n")
        let environment = Build.environment(cache: scratch.path + "/cache", setting: ["TMPDIR": tmpdir])
        try Build.layout(["good/plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        let before = try Build.files(scratch.path("out"))

        let errors = Pipe()
        let (kiln, pid) = try startSlowBuild(environment: environment, errors: errors, marks: marks)
        kill(kiln.processIdentifier, signal)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        kiln.waitUntilExit()

        #expect(kiln.terminationReason == .exit)
        #expect(kiln.terminationStatus == 128 + signal)
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        #expect(stderr.split(separator: "\n").last.map(String.init) == "kiln: interrupted by \(name); the previous output is as it was", "\(stderr)")
        #expect(try Build.files(scratch.path("out")) == before)
        #expect(try Build.leftovers(in: scratch.path) == [])
        #expect(try Build.temporaryLeftovers(tmpdir) == [])
        // The command's background process died with it (a zombie waiting
        // for its reaper counts as dead).
        let state = (try? Files.text("/proc/\(pid)/stat")).flatMap { $0.split(separator: ")").last?.split(separator: " ").first }
        #expect(state == nil || state == "Z", "process \(pid) still runs: \(state.map(String.init) ?? "")")
    }

    /// A descendant that leaves the command's process group (setsid) is
    /// reparented to kiln and killed when the command ends, not left
    /// running after the build.
    @Test func aCommandsSetsidDescendantDoesNotOutliveTheBuild() throws {
        let marks = try scratch.directory("marks")
        try scratch.write("plan/plan.yaml", """
            kiln: 1
            name: example.com/escape
            layers:
              - name: escape
                type: build
                command: |
                  setsid sleep 60 < /dev/null > /dev/null 2>&1 &
                  echo $! > \(marks)/escaped.pid
                  echo done > "$KILN_OUT/done"

            """)
        let result = try Build.run(["plan/plan.yaml", "-o", "out"], in: scratch.path)
        #expect(result.status == 0, "\(result.stderr)")
        let pid = try #require(pid_t(try Files.text(marks + "/escaped.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        let state = (try? Files.text("/proc/\(pid)/stat")).flatMap { $0.split(separator: ")").last?.split(separator: " ").first }
        #expect(state == nil || state == "Z", "the setsid process \(pid) outlived the build")
        if state != nil { kill(pid, SIGKILL) }
    }

    /// `kill -9` of kiln runs none of its code; its keeper (see Orphans)
    /// sees kiln's socket close and kills the running command's process
    /// group, so the command does not go on to finish its work. The
    /// staging and scratch directories it leaves are removed by the next
    /// build (see WorkDirectoryClaim).
    @Test func aCommandDiesWithAKilledBuildAndTheNextBuildClearsItsDebris() throws {
        let marks = try scratch.directory("marks")
        let tmpdir = try scratch.directory("tmp")
        try writeSlowPlan(marks: marks, late: marks + "/late")
        let environment = Build.environment(cache: scratch.path + "/cache", setting: ["TMPDIR": tmpdir])
        let (kiln, pid) = try startSlowBuild(environment: environment, errors: FileHandle.nullDevice, marks: marks)
        kill(kiln.processIdentifier, SIGKILL)
        kiln.waitUntilExit()
        #expect(kiln.terminationReason == .uncaughtSignal)

        // The keeper acts once it reads end of file: watch for up to 20 s.
        func alive() -> Bool {
            let state = (try? Files.text("/proc/\(pid)/stat")).flatMap { $0.split(separator: ")").last?.split(separator: " ").first }
            return state != nil && state != "Z"
        }
        var checks = 0
        while alive(), checks < 400 {
            usleep(50_000)
            checks += 1
        }
        #expect(!alive(), "process \(pid) of the killed build still runs")
        if alive() { kill(pid, SIGKILL) }
        #expect(!FileManager.default.fileExists(atPath: marks + "/late"))

        let debris = try Build.leftovers(in: scratch.path) + Build.temporaryLeftovers(tmpdir)
        #expect(debris.count >= 2, "a killed build leaves its staging and scratch: \(debris)")
        try scratch.write("good/plan.yaml", "kiln: 1\nname: example.com/killed\nlayers:\n  - { name: a, type: files, files: [{ path: /a, content: a }] }\n")
        try Build.layout(["good/plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(try Build.leftovers(in: scratch.path) == [])
        #expect(try Build.temporaryLeftovers(tmpdir) == [])
    }
}
