import Testing
@testable import YAML

@Suite struct YAMLParserTests {
    private func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Node {
        try #require(try YAMLParser.parse(text), sourceLocation: sourceLocation)
    }

    private func error(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
        do {
            _ = try YAMLParser.parse(text)
            Issue.record("expected an error", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func scalarsKeepTheirExactText() throws {
        let root = try parse("tag: 1.10\nmode: 0755\nflag: yes\nquoted: \"1.10\"\n")
        let pairs = try #require(root.mapping)
        #expect(pairs.map(\.key.scalar?.text) == ["tag", "mode", "flag", "quoted"])
        #expect(pairs.map(\.value.scalar?.text) == ["1.10", "0755", "yes", "1.10"])
        #expect(pairs[0].value.scalar?.style == .plain)
        #expect(pairs[3].value.scalar?.style == .doubleQuoted)
    }

    @Test func nodesCarryOneBasedMarks() throws {
        let root = try parse("a: 1\nlist:\n  - x\n  - { y: 2 }\n")
        #expect(root.mark == Mark(line: 1, column: 1))
        let pairs = try #require(root.mapping)
        #expect(pairs[1].key.mark == Mark(line: 2, column: 1))
        let items = try #require(pairs[1].value.sequence)
        #expect(items[0].mark == Mark(line: 3, column: 5))
        #expect(items[1].mark == Mark(line: 4, column: 5))
        #expect(items[1].mapping?[0].value.mark == Mark(line: 4, column: 10))
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let root = try parse("é: [ü, x]\n")
        let items = try #require(root.mapping?[0].value.sequence)
        #expect(items[1].mark == Mark(line: 1, column: 8))
    }

    @Test func aliasesResolveToTheAnchoredNode() throws {
        let root = try parse("base: &b [one, two]\ncopy: *b\n")
        let pairs = try #require(root.mapping)
        #expect(pairs[1].value.sequence?.map(\.scalar?.text) == ["one", "two"])
    }

    @Test func emptyTextHasNoDocument() throws {
        #expect(try YAMLParser.parse("") == nil)
        #expect(try YAMLParser.parse("# only a comment\n") == nil)
    }

    @Test func standardTagsAreKept() throws {
        let root = try parse("a: !!str 1.5\n")
        #expect(root.mapping?[0].value.tag == .str)
    }

    @Test func nullForms() throws {
        let root = try parse("a:\nb: ~\nc: null\nd: \"\"\ne: 'null'\n")
        #expect(root.mapping?.map(\.value.isNull) == [true, true, true, false, false])
    }

    @Test(arguments: [
        ("a: 1\na: 2\n", "2:1: duplicate key \"a\" (first defined at 1:1)"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "3:3: merge keys (<<) are not supported in a plan; repeat the keys, or use an alias for a whole value"),
        ("a: !custom x\n", "1:4: custom tag \"!custom\" is not allowed in a plan"),
        ("a: !!binary aGk=\n", "1:4: custom tag \"!!binary\" is not allowed in a plan"),
        ("a: 1\n---\nb: 2\n", "2:1: a plan holds exactly one YAML document; found a second one (remove the `---` line or split the file)"),
        ("a: *nope\n", "1:4: alias *nope refers to no anchor defined before it"),
        ("? [a, b]\n: c\n", "1:3: mapping keys must be plain strings, not a list"),
        ("a:\n\t- b\n", "2:1: found character that cannot start any token (while scanning for the next token at 2:1); YAML does not allow tabs for indentation, use spaces"),
        ("a: [1, 2\n", "2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)"),
        // libyaml counts characters, not bytes: the tab is still found after non-ASCII text.
        ("name: \"ééé\"\nx:\n\t- a\n", "3:1: found character that cannot start any token (while scanning for the next token at 3:1); YAML does not allow tabs for indentation, use spaces"),
        ("a: b: c\n", "1:5: mapping values are not allowed in this context; a value containing \": \" must be quoted"),
        ("a:\n  - b\n c: d\n", "3:2: did not find expected key (while parsing a block mapping at 1:1); check this line's indentation against line 1"),
        ("a:\n  - b\n   - c\n  d: e\n", "4:3: did not find expected '-' indicator (while parsing a block collection at 2:3); check this line's indentation against line 2"),
    ])
    func errorsSayWhereAndWhat(text: String, expected: String) {
        #expect(error(text)?.description == expected)
    }

    @Test func invalidUTF8IsAnError() {
        do {
            _ = try YAMLParser.parse([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "1:4: the plan is not valid UTF-8 or UTF-16 text (invalid leading UTF-8 octet 0xFF at byte offset 3)")
        }
    }

    @Test func aBadContinuationByteIsReportedAtItsCharacter() {
        // Latin-1 "é" (0xE9) reads as the start of a three-byte sequence that
        // the next byte breaks; the column is the é's, not the byte after it.
        do {
            _ = try YAMLParser.parse(Array("a: caf".utf8) + [0xE9] + Array("!\n".utf8))
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "1:7: the plan is not valid UTF-8 or UTF-16 text (invalid trailing UTF-8 octet 0x21 at byte offset 7)")
        }
        do {
            _ = try YAMLParser.parse(Array("é: caf".utf8) + [0xE2, 0x82])
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "1:7: the plan is not valid UTF-8 or UTF-16 text (incomplete UTF-8 octet sequence at byte offset 7)")
        }
    }

    @Test func aliasExpansionIsBounded() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let refs = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(refs)]\n"
        }
        #expect(error(text)?.message == "the document expands to more than 1000000 nodes (through aliases?)")
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(error(deep)?.description == "1:65: nesting deeper than 64 levels")
        let viaAlias = "a: &a " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
            + "\nb: " + String(repeating: "[", count: 30) + "*a" + String(repeating: "]", count: 30) + "\n"
        #expect(error(viaAlias)?.message == "nesting deeper than 64 levels")
    }
}
