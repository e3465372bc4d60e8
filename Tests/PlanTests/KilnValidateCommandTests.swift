import KilnCore
import Foundation
import Testing
import TestSupport

/// `kiln validate` and `kiln schema` as a user runs them: exit codes 0
/// (valid), 1 (invalid plan), 2 (usage error), and `--context`.
@Suite struct KilnValidateCommandTests {
    let directory: TemporaryDirectory
    let valid = "kiln: 1\nname: app\nlayers:\n  - { name: base, type: files, files: [{ path: /etc/motd, content: \"hi\\n\" }] }\n"

    init() throws {
        directory = try TemporaryDirectory()
        try directory.write("good.yaml", valid)
        try directory.write("bad.yaml", "kiln: 1\nname: App\n")
    }

    func kiln(_ arguments: [String], in path: String? = nil) throws -> ProcessResult {
        let result = try Tools.kiln(arguments, in: path ?? directory.path)
        #expect(result.signal == nil, "kiln \(arguments) crashed with signal \(result.signal ?? 0)")
        return result
    }

    @Test func validPlansExitZero() throws {
        let result = try kiln(["validate", "good.yaml", "good.yaml"])
        #expect(result.status == 0)
        #expect(result.stderrLines == ["good.yaml: ok", "good.yaml: ok"])
        #expect(result.stdout.isEmpty)
    }

    @Test func anInvalidPlanAmongOthersExitsOne() throws {
        let result = try kiln(["validate", "good.yaml", "bad.yaml"])
        #expect(result.status == 1)
        #expect(result.stderrLines == [
            "good.yaml: ok",
            "bad.yaml:1:1: error: an image from scratch needs at least one layer (add layers:)",
            "bad.yaml:2:7: error: image name \"App\" must be lowercase (did you mean \"app\"?)",
            "kiln: 2 errors in 1 of 2 plans",
        ])
    }

    @Test func jsonReportsEveryPlanWithItsErrors() throws {
        let result = try kiln(["validate", "good.yaml", "bad.yaml", "--json"])
        #expect(result.status == 1)
        #expect(result.stdout == #"""
            {"plans":[{"errors":[],"file":"good.yaml","ok":true,"warnings":[]},{"errors":[{"column":1,"file":"bad.yaml","line":1,"message":"an image from scratch needs at least one layer (add layers:)"},{"column":7,"file":"bad.yaml","line":2,"message":"image name \"App\" must be lowercase (did you mean \"app\"?)"}],"file":"bad.yaml","ok":false,"warnings":[]}]}

            """#)
        // The human lines stay on stderr.
        #expect(result.stderrLines.last == "kiln: 2 errors in 1 of 2 plans")
        let good = try kiln(["validate", "good.yaml", "--json"])
        #expect(good.status == 0)
        #expect(good.stdout == #"{"plans":[{"errors":[],"file":"good.yaml","ok":true,"warnings":[]}]}"# + "\n")
    }

    @Test func aPlanThatCannotBeReadExitsOne() throws {
        let missing = try kiln(["validate", "missing.yaml"])
        #expect(missing.status == 1)
        #expect(missing.stderrLines == ["missing.yaml:1:1: error: cannot read the plan: no such file or directory", "kiln: 1 error in 1 of 1 plan"])
        let folder = try kiln(["validate", "."])
        #expect(folder.status == 1)
        #expect(folder.stderrLines == [".:1:1: error: cannot read the plan: is a directory", "kiln: 1 error in 1 of 1 plan"])
    }

    @Test(arguments: [
        ["validate"],
        ["validate", "--no-such-flag", "good.yaml"],
        ["validate", "good.yaml", "--context"],
        ["no-such-command"],
    ])
    func usageErrorsExitTwo(arguments: [String]) throws {
        let result = try kiln(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("Error: "))
    }

    @Test func relativeHostPathsResolveAgainstThePlanNotTheWorkingDirectory() throws {
        try directory.write("project/config/app.conf", "x\n")
        try directory.write("project/plan.yaml", "kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /etc/app.conf, source: config/app.conf }] }\n")
        let result = try kiln(["validate", "project/plan.yaml"])
        #expect(result.status == 0)
        #expect(result.stderrLines == ["project/plan.yaml: ok"])
    }

    @Test func contextWidensWhereHostPathsMayReach() throws {
        try directory.write("shared/motd", "hello\n")
        try directory.write("app/plan.yaml", "kiln: 1\nname: app\nlayers:\n  - { name: c, type: files, files: [{ path: /etc/motd, source: ../shared/motd }] }\n")
        let narrow = try kiln(["validate", "app/plan.yaml"])
        #expect(narrow.status == 1)
        #expect(narrow.stderrLines == [
            "app/plan.yaml:4:64: error: layer \"c\": file \"/etc/motd\": source \"../shared/motd\" is outside the context \(directory.path)/app (use --context DIR to widen it)",
            "kiln: 1 error in 1 of 1 plan",
        ])
        let wide = try kiln(["validate", "--context", ".", "app/plan.yaml"])
        #expect(wide.status == 0)
        let missing = try kiln(["validate", "--context", "nowhere", "app/plan.yaml"])
        #expect(missing.status == 1)
        // Without a usable context the plan's own directory applies, so the escape is reported too.
        let escape = "app/plan.yaml:4:64: error: layer \"c\": file \"/etc/motd\": source \"../shared/motd\" is outside the context \(directory.path)/app (use --context DIR to widen it)"
        #expect(missing.stderrLines == ["app/plan.yaml:1:1: error: the context directory nowhere does not exist", escape, "kiln: 2 errors in 1 of 1 plan"])
        let inside = try kiln(["validate", "--context", "shared", "app/plan.yaml"])
        #expect(inside.status == 1)
        #expect(inside.stderrLines == [
            "app/plan.yaml:1:1: error: the context \(directory.path)/shared does not contain the plan's directory \(directory.path)/app",
            escape,
            "kiln: 2 errors in 1 of 1 plan",
        ])
    }

    @Test func planPrintsTheSameJSONForPlansThatMeanTheSame() throws {
        try directory.write("block.yaml", valid + "tag: 1.10\nenv:\n  B: \"2\"\n  A: \"1\"\n")
        try directory.write("flow.yaml", "# reformatted\n{ tag: '1.10', env: { A: '1', B: '2' }, name: app, kiln: 1,\n"
            + "  layers: [ { type: files, name: base, files: [ { content: \"hi\\n\", path: /etc/motd, mode: 0644 } ] } ] }\n")
        let block = try kiln(["plan", "block.yaml"])
        let flow = try kiln(["plan", "flow.yaml"])
        #expect(block.status == 0 && flow.status == 0)
        #expect(!block.stdout.isEmpty)
        #expect(block.stdout == flow.stdout)
        let bad = try kiln(["plan", "bad.yaml"])
        #expect(bad.status == 1)
        #expect(bad.stdout.isEmpty)
    }

    @Test func schemaPrintsTheSchemaFile() throws {
        let result = try kiln(["schema"])
        #expect(result.status == 0)
        #expect(Array(result.stdout.utf8) == Array(try Data(contentsOf: Locations.schemaFile)))
    }
}
