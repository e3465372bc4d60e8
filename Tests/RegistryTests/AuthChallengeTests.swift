import Testing
@testable import Registry

@Suite struct AuthChallengeTests {
    @Test func bearerWithQuotedParameters() {
        let challenges = AuthChallenge.parse([
            #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push""#,
        ])
        #expect(challenges == [AuthChallenge(scheme: "bearer", parameters: [
            "realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:team/app:pull,push",
        ])])
        #expect(challenges.first?.realm == "https://auth.example/token")
    }

    @Test func basicAndSchemeCaseAndTokens() {
        #expect(AuthChallenge.parse([#"basic Realm="Registry Realm""#]) == [AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"])])
        #expect(AuthChallenge.parse(["Basic realm=registry"]) == [AuthChallenge(scheme: "basic", parameters: ["realm": "registry"])])
        #expect(AuthChallenge.parse(["Basic"]) == [AuthChallenge(scheme: "basic", parameters: [:])])
    }

    @Test func severalChallengesInOneValueAndAcrossValues() {
        let challenges = AuthChallenge.parse([
            #"Basic realm="a, b", Bearer realm="https://t.example/x" , service = "s""#,
            "Negotiate abc123==, Basic realm=\"second\"",
        ])
        #expect(challenges.map(\.scheme) == ["basic", "bearer", "negotiate", "basic"])
        #expect(challenges[0].realm == "a, b")
        #expect(challenges[1].parameters == ["realm": "https://t.example/x", "service": "s"])
        #expect(challenges[3].realm == "second")
    }

    @Test func escapesInQuotedStrings() {
        let challenges = AuthChallenge.parse([#"Bearer realm="https://t.example/\"q\"\\x",error="insufficient_scope""#])
        #expect(challenges.first?.realm == #"https://t.example/"q"\x"#)
        #expect(challenges.first?.parameters["error"] == "insufficient_scope")
    }

    @Test func junkIsSkippedNotFatal() {
        #expect(AuthChallenge.parse(["", " , ,", "=\"x\""]) == [])
        #expect(AuthChallenge.parse([#"Bearer realm="unterminated"#]).first?.realm == "unterminated")
        #expect(AuthChallenge.parse([#"Bearer realm="x" junk, Basic"#]).map(\.scheme) == ["bearer", "basic"])
    }
}
