import KilnCore
import Foundation
import Testing
import TestSupport

/// The bad-input corpus through the real `kiln validate`: every broken
/// plan under `Fixtures/invalid` exits 1 and prints exactly the lines in
/// its `.stderr` file, and every plan under `Fixtures/valid` exits 0.
///
/// The binary is the one built beside the test bundle (see
/// ``KilnBinary/path``). Each case runs in a fresh copy of the
/// fixture directory, named by a relative path from inside it, so the
/// messages read as a user in that directory sees them; `${CONTEXT}` in an
/// expected file stands for the copy's real path.
@Suite struct PlanCorpusTests {
    /// A copy of a fixture set in a temporary directory, plus what the
    /// repository cannot hold: `escape-link`, a symlink to /etc, outside
    /// the context.
    static func workingCopy(of set: String) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.copyContents(of: Locations.fixtures.appendingPathComponent(set).path)
        try directory.symlink("escape-link", to: "/etc")
        return directory
    }

    static func validate(_ arguments: [String], in directory: String) throws -> ProcessResult {
        try Tools.kiln(["validate"] + arguments, in: directory)
    }

    @Test func theCorpusIsLargeAndEveryPlanHasExpectedOutput() throws {
        let plans = Locations.fixturePlans("invalid")
        #expect(plans.count >= 40)
        let directory = Locations.fixtures.appendingPathComponent("invalid")
        for plan in plans {
            let expected = directory.appendingPathComponent(String(plan.dropLast(5)) + ".stderr")
            #expect(FileManager.default.fileExists(atPath: expected.path), "\(plan) has no .stderr file")
        }
        #expect(FileManager.default.isExecutableFile(atPath: KilnBinary.path),
                "no kiln binary at \(KilnBinary.path): run `swift build --build-tests` first")
    }

    @Test(arguments: Locations.fixturePlans("invalid"))
    func invalidPlanFailsWithExactMessages(plan: String) throws {
        let copy = try Self.workingCopy(of: "invalid")
        let expectedFile = copy.url(String(plan.dropLast(5)) + ".stderr")
        let expected = try String(contentsOf: expectedFile, encoding: .utf8)
            .replacingOccurrences(of: "${CONTEXT}", with: copy.path)
        let result = try Self.validate([plan], in: copy.path)
        #expect(result.signal == nil, "kiln crashed with signal \(result.signal ?? 0)")
        #expect(result.status == 1)
        #expect(result.stderrLines == lines(expected))
        #expect(result.stdout.isEmpty)
    }

    @Test(arguments: Locations.fixturePlans("valid"))
    func validPlanPasses(plan: String) throws {
        let copy = try Self.workingCopy(of: "valid")
        let result = try Self.validate([plan], in: copy.path)
        #expect(result.status == 0)
        #expect(result.stderrLines == ["\(plan): ok"])
    }

    /// Inputs too large or too odd to commit, made at test time.
    @Test func generatedHostilePlans() throws {
        let directory = try TemporaryDirectory()
        let layer = "layers:\n  - { name: base, type: files, files: [{ path: /etc/motd, content: \"hi\\n\" }] }\n"
        // A 4 MiB scalar where a short name belongs: named, cut, one line.
        try directory.write("huge-name.yaml", "kiln: 1\nname: " + String(repeating: "a", count: 4 << 20) + "\n" + layer)
        // A 10 MiB inline file is fine.
        try directory.write("huge-content.yaml", "kiln: 1\nname: app\nlayers:\n  - name: big\n    type: files\n    files:\n      - path: /big\n        content: \""
            + String(repeating: "x", count: 10 << 20) + "\"\n")
        // Past the size limit, refused before parsing.
        try directory.write("too-large.yaml", "kiln: 1\nname: app\n# " + String(repeating: "#", count: 16 << 20) + "\n" + layer)
        // Nesting far past the limit, in flow and in block style.
        try directory.write("deep-flow.yaml", "kiln: 1\nname: app\nlabels: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n")
        var block = "kiln: 1\nname: app\nlabels:\n"
        for depth in 1...200 { block += String(repeating: " ", count: depth) + "k:\n" }
        try directory.write("deep-block.yaml", block)
        // Ten levels of ten aliases each: ten billion nodes if expanded.
        var laughs = "kiln: 1\nname: app\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            laughs += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        try directory.write("laughs.yaml", laughs)

        let cases: [(String, Int32, [String])] = [
            ("huge-name.yaml", 1, [
                "huge-name.yaml:2:7: error: image name \"\(String(repeating: "a", count: 100))…\" (4194304 characters) is longer than 255 characters",
                "kiln: 1 error in 1 of 1 plan",
            ]),
            ("huge-content.yaml", 0, ["huge-content.yaml: ok"]),
            ("too-large.yaml", 1, ["too-large.yaml:1:1: error: the plan is larger than 16 MiB", "kiln: 1 error in 1 of 1 plan"]),
            ("deep-flow.yaml", 1, ["deep-flow.yaml:3:72: error: nesting deeper than 64 levels", "kiln: 1 error in 1 of 1 plan"]),
            ("deep-block.yaml", 1, ["deep-block.yaml:66:64: error: nesting deeper than 64 levels", "kiln: 1 error in 1 of 1 plan"]),
            ("laughs.yaml", 1, ["laughs.yaml:8:45: error: the document expands to more than 1000000 nodes (through aliases?)", "kiln: 1 error in 1 of 1 plan"]),
        ]
        for (plan, status, expected) in cases {
            let result = try Self.validate([plan], in: directory.path)
            #expect(result.signal == nil, "\(plan): kiln crashed with signal \(result.signal ?? 0)")
            #expect(result.status == status, "\(plan)")
            #expect(result.stderrLines == expected, "\(plan)")
        }
    }
}
