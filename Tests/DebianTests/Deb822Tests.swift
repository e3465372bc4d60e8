import KilnCore
import Testing
@testable import Debian

@Suite struct Deb822Tests {
    @Test func stanzasFieldsAndContinuations() throws {
        let text = """
        # a comment before the first field
        Package: hello
        Version: 1.0-1
        Description: short
         long line one
         .
         long line two

        package: second
        Depends: a,
         b (>= 1)
        """
        let stanzas = try Deb822Parser.parse(text, source: "test")
        #expect(stanzas.count == 2)
        #expect(stanzas[0]["Package"] == "hello")
        #expect(stanzas[0]["VERSION"] == "1.0-1")
        #expect(stanzas[0]["Description"] == "short\nlong line one\n.\nlong line two")
        #expect(stanzas[0].line == 2)
        #expect(stanzas[1]["Package"] == "second")
        #expect(stanzas[1]["Depends"] == "a,\nb (>= 1)")
        #expect(stanzas[1].line == 9)
    }

    @Test func blankLinesWithSpacesAndCRLFSeparate() throws {
        let stanzas = try Deb822Parser.parse("A: 1\r\n \t\r\nB: 2\r\n", source: "test")
        #expect(stanzas.map { $0.fields.map(\.name) } == [["A"], ["B"]])
        #expect(stanzas[0]["A"] == "1")
    }

    @Test func chunkedFeedingMatchesWholeText() throws {
        let text = "Package: a\nDepends: b,\n c\n\nPackage: d\nVersion: 2\n"
        let whole = try Deb822Parser.parse(text, source: "t")
        var parser = Deb822Parser(source: "t")
        var chunked: [Deb822Stanza] = []
        for byte in Array(text.utf8) { chunked += try parser.feed([byte]) }
        chunked += try parser.finish()
        #expect(chunked == whole)
    }

    @Test func keepSkipsOtherFieldsAndTheirContinuations() throws {
        var parser = Deb822Parser(source: "t", keep: ["package"])
        let stanzas = try parser.feed(Array("Package: a\nDescription: x\n more\nPackage-Extra: y\n\n".utf8)) + parser.finish()
        #expect(stanzas.count == 1)
        #expect(stanzas[0].fields.map(\.name) == ["Package"])
    }

    @Test func commentsAreFieldsWhenNotAllowed() {
        #expect(throws: Deb822Error(source: "Packages", line: 1, message: "expected \"Name: value\", found \"# no\"")) {
            try Deb822Parser.parse("# no\n", source: "Packages", allowComments: false)
        }
    }

    @Test(arguments: [
        (" leading continuation\n", "t:1: continuation line with no field before it"),
        ("A: 1\nno colon here\n", "t:2: expected \"Name: value\", found \"no colon here\""),
        ("A: 1\na: 2\n", "t:2: field \"a\" given twice in one stanza"),
        ("Bad Name: 1\n", "t:1: invalid field name \"Bad Name\""),
    ])
    func errors(text: String, message: String) {
        #expect {
            try Deb822Parser.parse(text, source: "t")
        } throws: { error in
            (error as? Deb822Error)?.description == message
        }
    }
}
