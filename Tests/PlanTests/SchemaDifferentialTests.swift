import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
import YAML

/// kiln and the JSON Schema side by side on valid plans with one value
/// swapped for a tricky scalar (`1.10`, `0755`, `~`, `"true"`, `-1`, …)
/// or collection: whatever kiln accepts, the schema must accept, or an
/// editor would underline a plan that builds.
@Suite struct SchemaDifferentialTests {
    static let iterations = 1_500
    static let seed: UInt64 = 0x7363_6865_6d61

    /// Replacement values, written as YAML flow text.
    static let values = [
        "1.10", "\"1.10\"", "0755", "\"0755\"", "755", "0o755", "07777", "17777", "999", "0x1F", "-1", "+1", "0", "1e3", ".5",
        "true", "\"true\"", "yes", "~", "null", "''", "\"\"", "[]", "{}", "[a]", "{a: b}", "a b", "/x", "/x/", "/x/../y", "x/y",
        "..", ".", "/", "\"a\\nb\"", "SIGTERM", "15", "65:65", "\"65:65\"", "8080", "\"8080/udp\"", "linux/arm64", "scratch",
        "2024-01-01T00:00:00Z", "none", "system", "transitive", "isolated", "curl", "\"curl (>= 1)\"", "A_B", "x=1",
        "/nix/store/0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-a", "https://example.com/debian", "./", "config/app.conf", "rootfs",
    ]

    @Test(.requires(.jsonschema)) func whatKilnAcceptsTheSchemaAccepts() throws {
        let directory = Locations.fixtures.appendingPathComponent("valid")
        let plans = try Locations.fixturePlans("valid").compactMap { name in
            try YAMLParser.parse(Array(Data(contentsOf: directory.appendingPathComponent(name))))
        }
        var rng = SplitMix64(seed: Self.seed)
        var accepted: [String: String] = [:]
        var rejected = 0
        for iteration in 0..<Self.iterations {
            let plan = plans[rng.below(plans.count)]
            let count = Self.scalarCount(plan)
            let text = Self.flow(plan, replacing: rng.below(count), with: Self.values[rng.below(Self.values.count)])
            do {
                _ = try testLoader().decode(Array(text.utf8), file: "plan.yaml", directory: directory.path)
                let root = try #require(try YAMLParser.parse(text))
                accepted["iteration \(iteration): \(text)"] = CoreSchemaJSON.json(root)
            } catch {
                rejected += 1
            }
        }
        // Both outcomes must be common, or the test checks little.
        #expect(accepted.count > Self.iterations / 5)
        #expect(rejected > Self.iterations / 5)
        for (input, errors) in try SchemaValidator.validate(accepted).sorted(by: { $0.key < $1.key }) where !errors.isEmpty {
            Issue.record("seed \(Self.seed) \(input): kiln accepts it, the schema says \(errors)")
        }
    }

    /// How many scalars (keys excluded) the tree holds.
    static func scalarCount(_ node: Node) -> Int {
        switch node.value {
        case .scalar: 1
        case .sequence(let items): items.reduce(0) { $0 + scalarCount($1) }
        case .mapping(let pairs): pairs.reduce(0) { $0 + scalarCount($1.value) }
        }
    }

    /// The tree as one line of flow YAML, the `target`-th scalar replaced by
    /// `replacement`. Other scalars keep their typing: plain ones stay plain
    /// where flow YAML allows it, so `1.10` is still a number to an editor.
    static func flow(_ node: Node, replacing target: Int, with replacement: String) -> String {
        var index = 0
        func emit(_ node: Node) -> String {
            switch node.value {
            case .scalar(let scalar):
                defer { index += 1 }
                if index == target { return replacement }
                return scalarText(scalar, tag: node.tag)
            case .sequence(let items):
                return "[" + items.map(emit).joined(separator: ", ") + "]"
            case .mapping(let pairs):
                return "{" + pairs.map { key($0.key) + ": " + emit($0.value) }.joined(separator: ", ") + "}"
            }
        }
        return emit(node) + "\n"
    }

    static func key(_ node: Node) -> String {
        scalarText(node.scalar ?? Scalar(text: "", style: .plain), tag: nil)
    }

    static func scalarText(_ scalar: Scalar, tag: StandardTag?) -> String {
        let safe = scalar.style == .plain && !scalar.text.isEmpty
            && scalar.text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "/._-+~=()<> ".unicodeScalars.contains($0) }
            && !scalar.text.hasPrefix(" ") && !scalar.text.hasSuffix(" ")
        let text = safe ? scalar.text : CoreSchemaJSON.string(scalar.text)
        return tag.map { "!!\($0.rawValue) " + text } ?? text
    }
}
