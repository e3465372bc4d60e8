import KilnCore
import Plan
import Testing

/// A loader with a fixed platform and environment, so results never
/// depend on the machine running the tests.
func testLoader(environment: [String: String] = [:], context: String? = nil) -> PlanLoader {
    PlanLoader(environment: environment, hostPlatform: Platform(os: "linux", architecture: "amd64"), context: context)
}

/// The error lines `text` produces as the plan `plan.yaml` in `directory`,
/// or an issue if it decodes.
func decodeErrors(_ text: String, in directory: String, environment: [String: String] = [:],
                  sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
    do {
        _ = try testLoader(environment: environment).decode(Array(text.utf8), file: "plan.yaml", directory: directory)
        Issue.record("expected errors, the plan decoded", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.errors.map(\.description)
    }
}

/// A layer that is valid on its own, for plans that test something else.
let validLayer = "layers:\n  - { name: base, type: files, files: [{ path: /etc/motd, content: \"hi\\n\" }] }\n"
