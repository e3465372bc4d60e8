import KilnCore
import Testing
import TestSupport
@testable import Debian

@Suite struct VersionTests {
    /// deb-version(7)'s examples and the corner cases of its algorithm:
    /// `~` before everything (even the end), letters before non-letters,
    /// digit runs compared as numbers, epoch first, revision last.
    static let pairs: [(String, String)] = [
        ("1.0~rc1", "1.0"), ("1.0~~", "1.0~"), ("1.0~~a", "1.0~"), ("1.0~", "1.0"),
        ("1.0", "1.0a"), ("1.0a", "1.0+"), ("1.0", "1.0.1"), ("1.0", "1.0-1"),
        ("1.0-1", "1.0-1.1"), ("1.0-1", "1.0-2"), ("1.0-9", "1.0-10"), ("2.4", "2.30"),
        ("2.0", "1:0.1"), ("1:1.0", "2:0.1"), ("1.2-3", "1.2.3"), ("1.0+b1", "1.0.1"),
        ("7.6-0", "7.6p2-4"), ("1.0-1", "1.0.3-3"), ("1.2.2-2", "1.3"), ("1.2.2", "1.3"),
        ("0-pre", "0-pree"), ("1.1.6r-1", "1.1.6r2-2"), ("2.6b-2", "2.6b2-1"),
        ("98.1p5-1", "98.1-pre2-b6-2"), ("0.4-1", "0.4a6-2"), ("1:3.0.5-2", "1:3.0.5.1"),
        ("10.11.1.3-1", "10.11.1.3-2"), ("4.4.3-2", "4.4.3-2.0"),
        ("2.50", "2.51"), ("1.0-1~bpo1", "1.0-1"), ("3.0.7~rc1+dfsg-1", "3.0.7+dfsg-1"),
    ]

    static let equal: [(String, String)] = [
        ("1.0", "1.0"), ("0:1.0", "1.0"), ("1.00", "1.0"), ("1.0-0", "1.0"), ("1.001", "1.1"),
    ]

    @Test(arguments: pairs)
    func orders(lower: String, higher: String) throws {
        let a = try DebianVersion(lower)
        let b = try DebianVersion(higher)
        #expect(a < b)
        #expect(b > a)
        #expect(a != b)
    }

    @Test(arguments: equal)
    func equalVersions(lhs: String, rhs: String) throws {
        let a = try DebianVersion(lhs)
        let b = try DebianVersion(rhs)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(DebianVersion.compare(a, b) == 0)
    }

    /// Every pair above, asked of dpkg itself: the table is only as good as
    /// its agreement with the reference implementation.
    @Test(.requires(.tools("dpkg")))
    func agreesWithDpkg() throws {
        for (lower, higher) in Self.pairs {
            try Tools.run(["dpkg", "--compare-versions", lower, "lt", higher])
            try Tools.run(["dpkg", "--compare-versions", higher, "gt", lower])
        }
        for (lhs, rhs) in Self.equal {
            try Tools.run(["dpkg", "--compare-versions", lhs, "eq", rhs])
        }
    }

    @Test func parts() throws {
        let version = try DebianVersion("2:1.2-3-4ubuntu1")
        #expect(version.epoch == 2)
        #expect(version.upstream == "1.2-3")
        #expect(version.revision == "4ubuntu1")
        #expect(version.description == "2:1.2-3-4ubuntu1")
    }

    @Test(arguments: [
        ("", "invalid Debian version \"\": it is empty"),
        ("a:1.0", "invalid Debian version \"a:1.0\": the epoch \"a\" is not a number"),
        ("abc", "invalid Debian version \"abc\": the upstream version must start with a digit"),
        ("1.0_1", "invalid Debian version \"1.0_1\": invalid character \"_\" in the upstream version"),
        ("1.0-a_b", "invalid Debian version \"1.0-a_b\": invalid character \"_\" in the revision"),
        ("-1", "invalid Debian version \"-1\": the upstream version is empty"),
    ])
    func invalid(text: String, message: String) {
        #expect(throws: VersionError.self) { try DebianVersion(text) }
        do {
            _ = try DebianVersion(text)
        } catch {
            #expect(error.description == message)
        }
    }
}
