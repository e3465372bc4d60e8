import Foundation
import KilnCore
import Plan
import YAML
import Testing
import TestSupport

/// The JSON Schema in `schemas/kiln-plan.schema.json` against the Swift
/// validator. Documents are converted to JSON the way an editor's YAML
/// language server reads them (``CoreSchemaJSON``) and checked with
/// python3's `jsonschema` (Draft 2020-12), which CI installs from PyPI.
///
/// Fixture marks (first line): `# schema: reject` — kiln rejects it for a
/// reason the schema can express, so the schema must reject it too;
/// `# schema: accept` — kiln rejects it for a reason outside the schema's
/// reach (a missing or escaping file, duplicates across entries, an octal
/// digit 8 or 9 that YAML made a number), so the schema must accept it;
/// `# schema: yaml` — the YAML reader refuses it, no schema ever sees it.
@Suite struct PlanSchemaTests {
    @Test func embeddedSchemaIsTheFileByteForByte() throws {
        let file = try Data(contentsOf: Locations.schemaFile)
        #expect(Array(PlanSchema.json.utf8) == Array(file), "run scripts/sync-schema")
    }

    @Test func everyPropertyHasADescription() throws {
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Locations.schemaFile))
        var missing: [String] = []
        func walk(_ value: Any, _ path: String) {
            if let object = value as? [String: Any] {
                for (key, child) in object {
                    // Conditions and negations restate properties; they are not declarations.
                    if ["if", "then", "else", "not"].contains(key) { continue }
                    if key == "properties", let properties = child as? [String: Any] {
                        for (name, property) in properties where (property as? [String: Any])?["description"] == nil {
                            missing.append("\(path)/properties/\(name)")
                        }
                    }
                    walk(child, "\(path)/\(key)")
                }
            } else if let array = value as? [Any] {
                for (index, child) in array.enumerated() { walk(child, "\(path)/\(index)") }
            }
        }
        walk(schema, "#")
        #expect(missing.sorted() == [])
        let root = try #require(schema as? [String: Any])
        #expect(root["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(root["$id"] != nil && root["title"] != nil)
    }

    @Test(.requires(.jsonschema)) func schemaIsAValidDraft202012Schema() throws {
        let results = try SchemaValidator.validate([:])
        #expect(results.isEmpty)
    }

    @Test(.requires(.jsonschema)) func examplesAndValidFixturesValidate() throws {
        var documents: [String: [UInt8]] = [:]
        for example in Locations.examplePlans {
            documents["examples/" + example.lastPathComponent] = try Array(Data(contentsOf: example))
        }
        for plan in Locations.fixturePlans("valid") {
            documents["valid/" + plan] = try Self.fixture("valid", plan)
        }
        #expect(documents.count >= 10)
        for (name, errors) in try SchemaValidator.validate(documents.mapValues(Self.json)).sorted(by: { $0.key < $1.key }) {
            #expect(errors == [], "\(name)")
        }
    }

    @Test(.requires(.jsonschema)) func structurallyInvalidFixturesAreRejected() throws {
        let plans = try Self.invalidFixtures(marked: "reject")
        #expect(plans.count >= 40)
        let results = try SchemaValidator.validate(plans.mapValues(Self.json))
        for (name, errors) in results.sorted(by: { $0.key < $1.key }) {
            #expect(!errors.isEmpty, "the schema accepts \(name), which kiln rejects")
        }
    }

    @Test(.requires(.jsonschema)) func semanticallyInvalidFixturesAreAccepted() throws {
        let plans = try Self.invalidFixtures(marked: "accept")
        #expect(plans.count >= 5)
        for (name, errors) in try SchemaValidator.validate(plans.mapValues(Self.json)).sorted(by: { $0.key < $1.key }) {
            #expect(errors == [], "\(name) is marked accept")
        }
    }

    @Test func yamlLevelFixturesNeverReachTheSchema() throws {
        let plans = try Self.invalidFixtures(marked: "yaml")
        #expect(plans.count >= 8)
        for (name, bytes) in plans {
            let root = try? YAMLParser.parse(bytes)
            #expect(root == nil, "\(name) parses, yet is marked yaml")
        }
    }

    @Test func everyInvalidFixtureIsMarked() throws {
        for plan in Locations.fixturePlans("invalid") {
            let bytes = try Self.fixture("invalid", plan)
            // Only an empty file cannot carry a mark.
            #expect(bytes.isEmpty || Self.mark(bytes) != nil, "\(plan) has no # schema: mark")
        }
    }

    /// The core-schema typing of the converter, on the scalars that matter.
    @Test(arguments: [
        ("a: 1.10", #"{"a":1.10}"#), ("a: 0755", #"{"a":755}"#), ("a: 0o755", #"{"a":493}"#),
        ("a: 0x1F", #"{"a":31}"#), ("a: -0", #"{"a":-0}"#), ("a: +12", #"{"a":12}"#),
        ("a: .5", #"{"a":0.5}"#), ("a: 1.", #"{"a":1}"#), ("a: 1e3", #"{"a":1e3}"#), ("a: -.inf", #"{"a":-Infinity}"#),
        ("a: .NaN", #"{"a":NaN}"#), ("a: yes", #"{"a":"yes"}"#), ("a: True", #"{"a":true}"#),
        ("a: ~", #"{"a":null}"#), ("a:", #"{"a":null}"#), ("a: '1'", #"{"a":"1"}"#), ("a: !!str 1", #"{"a":"1"}"#),
        ("a: !!int \"7\"", #"{"a":7}"#), ("a: 1:2", #"{"a":"1:2"}"#), ("a: 2024-01-01", #"{"a":"2024-01-01"}"#),
        ("a: \"\\t\\\"\"", #"{"a":"\t\""}"#), ("[1, x, {b: c}]", #"[1,"x",{"b":"c"}]"#),
    ])
    func coreSchemaConversion(yaml: String, json: String) throws {
        let root = try #require(try YAMLParser.parse(yaml))
        #expect(CoreSchemaJSON.json(root) == json)
    }

    // MARK: helpers

    static func fixture(_ set: String, _ name: String) throws -> [UInt8] {
        try Array(Data(contentsOf: Locations.fixtures.appendingPathComponent(set).appendingPathComponent(name)))
    }

    /// The word after `# schema: ` on the first line.
    static func mark(_ bytes: [UInt8]) -> String? {
        let first = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
        let prefix = "# schema: "
        return first.hasPrefix(prefix) ? String(first.dropFirst(prefix.count)) : nil
    }

    static func invalidFixtures(marked word: String) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for plan in Locations.fixturePlans("invalid") {
            let bytes = try fixture("invalid", plan)
            if mark(bytes) == word { result[plan] = bytes }
        }
        return result
    }

    static func json(_ bytes: [UInt8]) throws -> String {
        guard let root = try YAMLParser.parse(bytes) else { return "null" }
        return CoreSchemaJSON.json(root)
    }
}

/// Runs python3 `jsonschema` once over many documents.
enum SchemaValidator {
    static let script = """
        import json, sys
        from jsonschema import Draft202012Validator
        with open(sys.argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema)
        for path in sys.argv[2:]:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
            errors = ["/".join(map(str, e.absolute_path)) + ": " + e.message for e in validator.iter_errors(document)]
            print(json.dumps({"file": path, "errors": sorted(errors)}))
        """

    /// Validates each JSON text; returns each name's error messages (empty
    /// for a valid document). Throws if the schema itself is invalid.
    static func validate(_ documents: [String: String]) throws -> [String: [String]] {
        let directory = try TemporaryDirectory()
        var paths: [String: String] = [:]
        for (index, (name, json)) in documents.enumerated() {
            paths[try directory.write("\(index).json", json)] = name
        }
        defer { directory.remove() }
        let result = try Tools.execute(["python3", "-c", script, Locations.schemaFile.path] + paths.keys.sorted())
        try #require(result.status == 0, "jsonschema failed: \(result.stderr)")
        var results: [String: [String]] = [:]
        for line in lines(result.stdout) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let file = try #require(object["file"] as? String)
            results[paths[file] ?? file] = object["errors"] as? [String] ?? []
        }
        try #require(results.count == documents.count)
        return results
    }
}

extension Requirement {
    /// `python3` can import `jsonschema` (CI installs it from PyPI).
    static let jsonschema = Requirement.pythonModule("jsonschema")
}
