public import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Something a test needs from the machine it runs on: a peer tool, root,
/// the opt-in network tests, a Python module.
///
/// Every gated test says so with ``Testing/Trait/requires(_:sourceLocation:)``
/// (`@Test(.requires(.tools("umoci")))`), never with a bare `.enabled(if:)`
/// or `.disabled(if:)` (`RequirementTests` fails on one); a check inside a
/// test that only some machines can make asks ``isMet(strict:)``. What
/// happens to an unmet requirement depends on ``peersRequired``:
///
/// - Unset (a developer's machine): a test whose requirement is unmet is
///   skipped, and the skip names what is missing.
/// - `KILN_REQUIRE_PEERS=1` (`.ci/run` sets it): the test fails instead,
///   with ``RequirementError``'s message, e.g. `required peer tool 'umoci'
///   not found on PATH (KILN_REQUIRE_PEERS is set)`. CI installs every peer,
///   so a skip there would only hide a test that silently stopped running.
///
/// The decision for conditions that are not tools is the same: CI runs as
/// root and with `KILN_ONLINE_TESTS=1`, so under `KILN_REQUIRE_PEERS`
/// ``root`` and ``online`` unmet fail too. Running the suite with
/// `KILN_REQUIRE_PEERS=1` locally therefore means: as root, online, with
/// every peer installed — which is what `.ci/run` sets up.
public struct Requirement: Sendable {
    /// What is required, for a skip's comment: `umoci`, `root`.
    public let name: String
    /// Checks the requirement: nil when met, else what is missing, worded
    /// to follow "required " (`peer tool 'umoci' not found on PATH`).
    public let problem: @Sendable () -> String?

    /// A requirement called `name` that `problem` checks.
    public init(_ name: String, problem: @escaping @Sendable () -> String?) {
        self.name = name
        self.problem = problem
    }

    /// The variable that turns a skip for an unmet requirement into a failure.
    public static let strictVariable = "KILN_REQUIRE_PEERS"

    /// Whether ``strictVariable`` is set to anything but empty or `0`.
    public static var peersRequired: Bool {
        let value = ProcessInfo.processInfo.environment[strictVariable] ?? ""
        return !value.isEmpty && value != "0"
    }

    /// Whether the requirement holds now: true when met; false when not
    /// and `strict` is off (the caller skips what needs it).
    /// - Parameter strict: whether an unmet requirement is a failure;
    ///   ``peersRequired`` unless a test of this type says otherwise.
    /// - Throws: ``RequirementError`` when not met and `strict`.
    public func isMet(strict: Bool = Requirement.peersRequired) throws -> Bool {
        guard let problem = problem() else { return true }
        if strict { throw RequirementError(problem: problem) }
        return false
    }

    /// Every named executable is on `PATH`; the first missing one is named.
    public static func tools(_ names: String...) -> Requirement {
        Requirement(names.joined(separator: ", ")) {
            names.first { Tools.path($0) == nil }.map { "peer tool '\($0)' not found on PATH" }
        }
    }

    /// The tests run as root (umoci keeping owners, mounting file systems).
    public static let root = Requirement("root") {
        getuid() == 0 ? nil : "root, but the tests run as uid \(getuid())"
    }

    /// The opt-in tests that reach the Debian archive: `KILN_ONLINE_TESTS=1`.
    public static let online = Requirement("KILN_ONLINE_TESTS=1") {
        ProcessInfo.processInfo.environment["KILN_ONLINE_TESTS"] == "1"
            ? nil : "the online tests, but KILN_ONLINE_TESTS=1 is not set"
    }

    /// `python3` can `import module` (jsonschema comes from PyPI).
    public static func pythonModule(_ module: String) -> Requirement {
        Requirement("python3 module \(module)") {
            guard Tools.path("python3") != nil else { return "peer tool 'python3' not found on PATH" }
            let imported = (try? Tools.execute(["python3", "-c", "import \(module)"]))?.succeeded ?? false
            return imported ? nil : "python3 module '\(module)', but python3 cannot import it"
        }
    }

    /// The `kiln` executable under test exists (``KilnBinary/path``).
    public static let kilnBinary = Requirement("the kiln binary") {
        KilnBinary.exists ? nil : "the kiln binary, but \(KilnBinary.path) is not an executable (build with --build-tests)"
    }
}

/// A test's requirement is not met while `KILN_REQUIRE_PEERS` is set.
public struct RequirementError: Error, Sendable, CustomStringConvertible {
    /// What is missing, e.g. `peer tool 'umoci' not found on PATH`.
    public let problem: String

    public var description: String {
        "required \(problem) (\(Requirement.strictVariable) is set)"
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only where every requirement is met; with
    /// `KILN_REQUIRE_PEERS` set, an unmet one fails it instead of skipping
    /// (see ``Requirement``). Requirements are checked when the test is
    /// about to run, in order; the first unmet one is reported.
    public static func requires(_ requirements: Requirement..., sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        let names = requirements.map(\.name).joined(separator: ", ")
        return .enabled("needs \(names)", sourceLocation: sourceLocation) {
            for requirement in requirements where try !requirement.isMet() { return false }
            return true
        }
    }
}
