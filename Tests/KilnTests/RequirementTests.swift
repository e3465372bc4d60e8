import Foundation
import Testing
import TestSupport

/// The gating of tests on peer tools and conditions (TestSupport's
/// `Requirement`): a skip on a developer's machine, a failure naming what is
/// missing under `KILN_REQUIRE_PEERS`, and no test gated any other way.
@Suite struct RequirementTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func anUnmetRequirementSkipsLocallyAndFailsNamingTheToolWhenPeersAreRequired() throws {
        let missing = Requirement.tools("sh", "kiln-no-such-peer", "also-missing")
        #expect(try missing.isMet(strict: false) == false)
        #expect(missing.name == "sh, kiln-no-such-peer, also-missing")
        let error = #expect(throws: RequirementError.self) { try missing.isMet(strict: true) }
        #expect(error?.description == "required peer tool 'kiln-no-such-peer' not found on PATH (KILN_REQUIRE_PEERS is set)")
    }

    @Test func aMetRequirementRunsTheTestEitherWay() throws {
        let present = Requirement.tools("sh")
        #expect(try present.isMet(strict: false))
        #expect(try present.isMet(strict: true))
        let condition = Requirement("a condition") { nil }
        #expect(try condition.isMet(strict: true))
    }

    @Test func aConditionThatIsNotAToolFailsWithItsOwnWords() throws {
        let condition = Requirement("a condition") { "a condition, but it does not hold" }
        #expect(try condition.isMet(strict: false) == false)
        let error = #expect(throws: RequirementError.self) { try condition.isMet(strict: true) }
        #expect(error?.description == "required a condition, but it does not hold (KILN_REQUIRE_PEERS is set)")
    }

    /// A bare condition trait would skip in CI as well; every gate goes
    /// through `.requires(…)`, which fails there instead.
    @Test func noTestIsGatedOutsideRequires() throws {
        let forbidden = ["." + "enabled(", "." + "enabled {", "." + "disabled(", "." + "disabled {"]
        let tests = Self.repository + "/Tests"
        guard let walker = FileManager.default.enumerator(atPath: tests) else { throw TestSupportError("cannot list \(tests)") }
        var offenders: [String] = []
        var scanned = 0
        while let relative = walker.nextObject() as? String {
            guard relative.hasSuffix(".swift"), !relative.hasPrefix("TestSupport/") else { continue }
            scanned += 1
            for (number, line) in lines(try Files.text(tests + "/" + relative)).enumerated()
            where forbidden.contains(where: line.contains) {
                offenders.append("Tests/\(relative):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(scanned > 50)
        #expect(offenders == [], "gate these with .requires(…) from TestSupport")
    }

    /// CI turns skips into failures; the README's local command does not.
    @Test func ciRequiresPeersAndLocalRunsDoNot() throws {
        let ci = try Files.text(Self.repository + "/.ci/run")
        let commands = lines(ci).filter { !$0.hasPrefix("#") }
        #expect(commands.contains { $0.contains("KILN_REQUIRE_PEERS=1") && $0.contains("scripts/test") })
        #expect(!(try Files.text(Self.repository + "/scripts/test")).contains("KILN_REQUIRE_PEERS"))
    }
}
