import KilnCore
import Foundation

/// Where the files the tests read live.
enum Locations {
    /// The package's root directory, found from this source file's path,
    /// so the tests read `examples/` and `schemas/` of the checkout they
    /// were built from.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // Support
        .deletingLastPathComponent() // PlanTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent()

    /// `Tests/PlanTests/Fixtures` as copied into the test bundle.
    static let fixtures: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    /// `schemas/kiln-plan.schema.json`.
    static let schemaFile = packageRoot.appendingPathComponent("schemas/kiln-plan.schema.json")

    /// Every example plan, `examples/*/*.yaml`, sorted.
    static var examplePlans: [URL] {
        let examples = packageRoot.appendingPathComponent("examples")
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
        return directories.sorted().flatMap { name -> [URL] in
            let directory = examples.appendingPathComponent(name)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return files.filter { $0.hasSuffix(".yaml") }.sorted().map { directory.appendingPathComponent($0) }
        }
    }

    /// The `.yaml` files of a fixture set (`valid`, `invalid`), sorted by name.
    static func fixturePlans(_ set: String) -> [String] {
        let directory = fixtures.appendingPathComponent(set)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted()
    }
}
