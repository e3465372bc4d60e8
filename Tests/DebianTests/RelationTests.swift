import KilnCore
import Testing
@testable import Debian

@Suite struct RelationTests {
    @Test func dependsField() throws {
        let field = "libc6 (>= 2.36), python3:any, a | b (<< 2~), c [amd64], d [!amd64], e:native (= 1.0-1), f (>> 1) <!nocheck>,\n g (<= 3)"
        let deps = try RelationParser.dependencies(field, architecture: "amd64")
        #expect(deps.map(\.description) == [
            "libc6 (>= 2.36)", "python3", "a | b (<< 2~)", "c", "e (= 1.0-1)", "f (>> 1)", "g (<= 3)",
        ])
        let arm = try RelationParser.dependencies(field, architecture: "arm64")
        #expect(arm.map(\.description).contains("d"))
        #expect(!arm.map(\.description).contains("c"))
    }

    @Test func obsoleteOperatorsMeanOrEqual() throws {
        let deps = try RelationParser.dependencies("a (< 2), b (> 1)", architecture: "amd64")
        #expect(deps.map(\.description) == ["a (<= 2)", "b (>= 1)"])
    }

    @Test func constraints() throws {
        let relation = try RelationParser.atom("foo (>= 1.2)")
        #expect(relation.isSatisfied(by: try DebianVersion("1.2")))
        #expect(relation.isSatisfied(by: try DebianVersion("1:0.1")))
        #expect(!relation.isSatisfied(by: try DebianVersion("1.2~rc1")))
        let strict = try RelationParser.atom("foo (<< 1.2)")
        #expect(strict.isSatisfied(by: try DebianVersion("1.1")))
        #expect(!strict.isSatisfied(by: try DebianVersion("1.2")))
    }

    @Test(arguments: [
        ("ca-certificates", "ca-certificates"),
        ("tzdata=2024a-1", "tzdata (= 2024a-1)"),
        ("libc6 (>= 2.36)", "libc6 (>= 2.36)"),
        ("  bash  ", "bash"),
    ])
    func atoms(text: String, expected: String) throws {
        #expect(try RelationParser.atom(text).description == expected)
    }

    @Test func providesKeepsVersions() throws {
        let provides = try RelationParser.provides("mail-transport-agent, libfoo-abi (= 2)")
        #expect(provides.map(\.description) == ["mail-transport-agent", "libfoo-abi (= 2)"])
    }

    @Test(arguments: [
        ("Foo", "invalid package relation \"Foo\": \"Foo\" is not a valid package name (lowercase letters, digits, + - .)"),
        ("a | b", "invalid package relation \"a | b\": a package atom is one name, \"name=version\" or \"name (op version)\""),
        ("a (>= 1", "invalid package relation \"a (>= 1\": unclosed \"(\""),
        ("a (~ 1)", "invalid package relation \"a (~ 1)\": expected one of << <= = >= >> before the version"),
        ("a=", "invalid package relation \"a=\": invalid Debian version \"\": it is empty"),
        ("", "invalid package relation \"\": the package name is empty"),
    ])
    func invalidAtoms(text: String, message: String) {
        #expect { try RelationParser.atom(text) } throws: { ($0 as? RelationError)?.description == message }
    }

    @Test func providesRejectsOtherOperators() {
        #expect { try RelationParser.provides("x (>= 1)") } throws: {
            ($0 as? RelationError)?.description == "invalid package relation \"x (>= 1)\": a Provides version must use \"=\""
        }
    }
}
