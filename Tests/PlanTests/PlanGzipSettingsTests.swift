import Foundation
import KilnCore
import Plan
import Testing
import TestSupport

/// `gzip: { engine, level }`: opt-in deflate settings for compression:
/// gzip (docs/layers.md); a plan without it keeps SPEC §2's zlib level 6.
@Suite struct PlanGzipSettingsTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory()
    }

    func decode(_ text: String) throws -> ImageBuildPlan {
        try testLoader().decode(Array(text.utf8), file: "plan.yaml", directory: directory.path)
    }

    @Test func absentMeansZlibLevel6AndThePlanPrintsAsBefore() throws {
        let plan = try decode("kiln: 1\nname: app\n" + validLayer)
        #expect(plan.gzip == .standard && plan.gzip == GzipSettings(engine: .zlib, level: 6))
        let json = String(decoding: try CanonicalJSONEncoder().encode(plan), as: UTF8.self)
        #expect(!json.contains("\"gzip\":"))
    }

    @Test(arguments: [
        ("gzip: { engine: libdeflate }", GzipSettings(engine: .libdeflate, level: 6)),
        ("gzip: { level: 4 }", GzipSettings(engine: .zlib, level: 4)),
        ("compression: gzip\ngzip:\n  engine: libdeflate\n  level: 9", GzipSettings(engine: .libdeflate, level: 9)),
        ("gzip: { engine: zlib, level: 6 }", GzipSettings.standard),
    ])
    func settingsAreRead(yaml: String, expected: GzipSettings) throws {
        let plan = try decode("kiln: 1\nname: app\n\(yaml)\n" + validLayer)
        #expect(plan.gzip == expected)
        let json = String(decoding: try CanonicalJSONEncoder().encode(plan), as: UTF8.self)
        #expect(json.contains("\"gzip\":{\"engine\":\"\(expected.engine.rawValue)\",\"level\":\(expected.level)}") == (expected != .standard))
    }

    @Test(arguments: [
        ("gzip: { engine: zopfli }", "plan.yaml:3:17: error: \"gzip.engine\" must be one of zlib, libdeflate, not \"zopfli\""),
        ("gzip: { level: 0 }", "plan.yaml:3:16: error: \"gzip.level\" must be between 1 and 9, not 0"),
        ("gzip: { level: 12 }", "plan.yaml:3:16: error: \"gzip.level\" must be between 1 and 9, not 12"),
        ("gzip: { levle: 4 }", "plan.yaml:3:9: error: unknown key \"levle\" (did you mean \"level\"?)"),
        ("gzip: fast", "plan.yaml:3:7: error: \"gzip\" must be a mapping, not the string \"fast\""),
        ("compression: zstd\ngzip: { level: 4 }",
         "plan.yaml:4:7: error: \"gzip\" sets the deflate engine and level of compression: gzip; this plan says compression: zstd"),
    ])
    func mistakesAreReportedWhereTheyAreWritten(yaml: String, expected: String) {
        #expect(decodeErrors("kiln: 1\nname: app\n\(yaml)\n" + validLayer, in: directory.path) == [expected])
    }
}
