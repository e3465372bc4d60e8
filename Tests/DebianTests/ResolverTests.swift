import KilnCore
import Testing
@testable import Debian

@Suite struct ResolverTests {
    static func record(_ name: String, _ version: String, arch: String = "amd64", depends: String = "", preDepends: String = "", provides: String = "") -> PackageRecord {
        PackageRecord(
            name: name, version: try! DebianVersion(version), architecture: arch, depends: depends, preDepends: preDepends,
            provides: try! RelationParser.provides(provides), url: "http://repo.invalid/\(name)_\(version).deb",
            size: 1, sha256: String(repeating: "0", count: 64), origin: "test")
    }

    static let universe: [PackageRecord] = [
        record("app", "1.0", depends: "libfoo (>= 1.0), mta-a | mta-b, missing-alt | libbar", preDepends: "base"),
        record("libfoo", "1.0"), record("libfoo", "2.0"), record("libfoo", "3.0", arch: "arm64"),
        record("base", "1", arch: "all"),
        record("mta-b", "1"),
        record("libbar", "0.9", depends: "libfoo"),
        record("server-one", "1", provides: "httpd"), record("server-two", "2", provides: "httpd"),
        record("web", "1", depends: "httpd"),
        record("awk-real", "1", provides: "awk (= 1.5)"),
        record("needs-awk", "1", depends: "awk (>= 1.2)"),
        record("needs-new-awk", "1", depends: "awk (>= 2)"),
        record("cycle-a", "1", depends: "cycle-b"), record("cycle-b", "1", depends: "cycle-a"),
        record("old-user", "1", depends: "libfoo (<< 2.0)"),
        // As ca-certificates → openssl → libc6 ⇄ libgcc-s1 in Debian: a
        // package whose name sorts first must still wait for a cycle below it.
        record("aa-top", "1", depends: "mid"), record("mid", "1", depends: "zz-libc"),
        record("zz-libc", "1", depends: "zz-gcc"), record("zz-gcc", "1", depends: "zz-libc, zz-base"),
        record("zz-base", "1"),
    ]

    func resolve(_ names: [String], exclude: [String] = [], transitive: Bool = true) throws -> [String] {
        try Resolver(packages: Self.universe, architecture: "amd64")
            .resolve(names, exclude: exclude, transitive: transitive)
            .map { "\($0.name)=\($0.version)" }
    }

    @Test func transitiveInInstallOrder() throws {
        #expect(try resolve(["app"]) == ["base=1", "libfoo=2.0", "libbar=0.9", "mta-b=1", "app=1.0"])
    }

    @Test func aCycleIsPlacedWholeBeforeWhatDependsOnIt() throws {
        #expect(try resolve(["aa-top"]) == ["zz-base=1", "zz-gcc=1", "zz-libc=1", "mid=1", "aa-top=1"])
    }

    @Test func noneTakesExactlyTheNames() throws {
        #expect(try resolve(["app", "libfoo=1.0"], transitive: false) == ["libfoo=1.0", "app=1.0"])
    }

    @Test func pinnedVersionsAndRelations() throws {
        #expect(try resolve(["libfoo=1.0"]) == ["libfoo=1.0"])
        #expect(try resolve(["libfoo (<< 2)"]) == ["libfoo=1.0"])
        // The requested version wins over the highest one a dependency would pick.
        #expect(try resolve(["libfoo (<< 2)", "libbar"]) == ["libfoo=1.0", "libbar=0.9"])
    }

    @Test func excludedNamesCountAsSatisfied() throws {
        #expect(try resolve(["app"], exclude: ["base", "libfoo"]) == ["libbar=0.9", "mta-b=1", "app=1.0"])
    }

    @Test func requestedProviderWinsOverAmbiguity() throws {
        #expect(try resolve(["web", "server-two"]) == ["server-two=2", "web=1"])
        #expect(try resolve(["httpd", "server-one"]) == ["server-one=1"])
    }

    @Test func versionedProvides() throws {
        #expect(try resolve(["needs-awk"]) == ["awk-real=1", "needs-awk=1"])
    }

    @Test func cyclesAreBrokenByName() throws {
        #expect(try resolve(["cycle-b"]) == ["cycle-a=1", "cycle-b=1"])
    }

    @Test func architectureOfOtherPackagesIsIgnored() throws {
        #expect(try resolve(["libfoo"]) == ["libfoo=2.0"])
    }

    @Test(arguments: [
        (["nope"], [String](), "package \"nope\" is not in any source"),
        (["libfoo (>= 3)"], [], "no version of \"libfoo\" satisfies \"libfoo (>= 3)\"; available: 2.0, 1.0"),
        (["web"], [], "\"httpd\" is a virtual package provided by server-one, server-two; name one of them in names (web 1 depends on \"httpd\")"),
        (["needs-new-awk"], [], "package \"awk\" is not in any source (needs-new-awk 1 depends on \"awk (>= 2)\")"),
        (["libfoo", "old-user"], [], "\"libfoo (<< 2.0)\" cannot be satisfied: libfoo 2.0 (amd64) is already selected (old-user 1 depends on \"libfoo (<< 2.0)\")"),
        (["libfoo"], ["libfoo"], "package \"libfoo\" is both in names and in exclude"),
        (["Bad"], [], "names: invalid package relation \"Bad\": \"Bad\" is not a valid package name (lowercase letters, digits, + - .)"),
    ])
    func errors(names: [String], exclude: [String], message: String) {
        #expect { try resolve(names, exclude: exclude) } throws: { ($0 as? ResolutionError)?.description == message }
    }

    /// Every failure of one run, in the order of the names (a missing name
    /// before an existing one that no version satisfies, though real names
    /// are resolved first), a dependency's at the name that pulled it in,
    /// a missing name with the closest name the sources offer.
    @Test func everyFailureAtOnceInPlanOrder() {
        #expect { try resolve(["nope", "libfo", "libfoo (>= 3)", "app", "needs-new-awk"]) } throws: { error in
            guard case .requested(let failures) = error as? ResolutionError else { return false }
            return failures.map(\.atom) == [0, 1, 2, 4] && "\(error)" == [
                "package \"nope\" is not in any source",
                "package \"libfo\" is not in any source (did you mean \"libfoo\"?)",
                "no version of \"libfoo\" satisfies \"libfoo (>= 3)\"; available: 2.0, 1.0",
                "package \"awk\" is not in any source (needs-new-awk 1 depends on \"awk (>= 2)\")",
            ].joined(separator: "\n")
        }
    }

    /// Virtual names are suggested too.
    @Test func suggestionsIncludeVirtualNames() {
        #expect { try resolve(["htpd"]) } throws: { "\($0)" == "package \"htpd\" is not in any source (did you mean \"httpd\"?)" }
    }

    @Test func malformedDependencyFieldNamesThePackage() {
        let broken = [Self.record("broken", "1", depends: "ok, (>= 1)")]
        #expect {
            try Resolver(packages: broken, architecture: "amd64").resolve(["broken"], exclude: [], transitive: true)
        } throws: {
            ($0 as? ResolutionError)?.description == "package broken 1 (amd64): Depends: invalid package relation \"(>= 1)\": the package name is empty"
        }
    }
}
