import Testing
@testable import YAML

/// Encodings, line endings, document markers and the places where kiln's
/// stricter rules meet ordinary YAML.
@Suite struct YAMLParserEdgeTests {
    private func parse(_ bytes: [UInt8], limits: YAMLParser.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation) throws -> Node {
        try #require(try YAMLParser.parse(bytes, limits: limits), sourceLocation: sourceLocation)
    }

    private func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Node {
        try parse(Array(text.utf8), sourceLocation: sourceLocation)
    }

    @Test func aUTF8ByteOrderMarkIsSkipped() throws {
        let root = try parse([0xEF, 0xBB, 0xBF] + Array("a: b\n".utf8))
        #expect(root.mapping?.first?.key.scalar?.text == "a")
        #expect(root.mark == Mark(line: 1, column: 1))
    }

    @Test func utf16WithAByteOrderMarkIsRead() throws {
        let text = "tag: \"1.10\"\nname: é\n"
        let little: [UInt8] = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let big: [UInt8] = [0xFE, 0xFF] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        for bytes in [little, big] {
            let root = try parse(bytes)
            #expect(root.mapping?.map(\.value.scalar?.text) == ["1.10", "é"])
            #expect(root.mapping?[1].value.mark == Mark(line: 2, column: 7))
        }
    }

    @Test func crlfLineEndingsCountAsOneLine() throws {
        let root = try parse("a: 1\r\nb:\r\n  - x\r\n")
        let pairs = try #require(root.mapping)
        #expect(pairs[1].key.mark == Mark(line: 2, column: 1))
        #expect(pairs[1].value.sequence?.first?.mark == Mark(line: 3, column: 5))
        #expect(pairs[0].value.scalar?.text == "1")
    }

    @Test func explicitDocumentMarkersAroundOneDocumentAreFine() throws {
        let root = try parse("%YAML 1.2\n---\na: 1\n...\n")
        #expect(root.mapping?.count == 1)
        // A lone marker is a document holding an empty (null) scalar.
        let empty = try parse("---\n")
        #expect(empty.isNull)
    }

    @Test func onlyAPlainUntaggedLessThanLessThanIsAMergeKey() throws {
        for text in ["\"<<\": a\n", "'<<': a\n", "!!str << : a\n"] {
            let root = try parse(text)
            #expect(root.mapping?.first?.key.scalar?.text == "<<", "\(text)")
        }
    }

    @Test func standardTagsOnCollectionsAreKept() throws {
        let root = try parse("a: !!seq [x]\nb: !!map {c: d}\nc: !!null ''\n")
        #expect(root.mapping?.map(\.value.tag) == [.seq, .map, .null])
        // A null tag on a quoted empty scalar does not make it a plain null.
        #expect(root.mapping?[2].value.isNull == false)
    }

    @Test func anAliasKeepsItsAnchorsMark() throws {
        let root = try parse("a: &x [1]\nb: *x\n")
        let pairs = try #require(root.mapping)
        #expect(pairs[1].value.mark == Mark(line: 1, column: 4))
    }

    @Test func limitsAreTheCallersToChoose() {
        let limits = YAMLParser.Limits(maxDepth: 3, maxNodes: 10)
        do {
            _ = try YAMLParser.parse(Array("a: [[x]]\n".utf8), limits: limits)
            Issue.record("expected an error")
        } catch {
            // Scalars count as a level: the mapping, two lists, then x.
            #expect(error.description == "1:6: nesting deeper than 3 levels")
        }
        do {
            _ = try YAMLParser.parse(Array("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n".utf8), limits: limits)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "1:29: the document expands to more than 10 nodes (through aliases?)")
        }
    }

    @Test func duplicateKeysAreFoundInFlowAndNestedMappings() {
        for (text, expected) in [
            ("{a: 1, a: 2}\n", "1:8: duplicate key \"a\" (first defined at 1:2)"),
            ("x:\n  y: 1\n  \"y\": 2\n", "3:3: duplicate key \"y\" (first defined at 2:3)"),
        ] {
            do {
                _ = try YAMLParser.parse(Array(text.utf8))
                Issue.record("expected an error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }
}
