import Testing
@testable import Registry

@Suite struct RegistryErrorTests {
    @Test func namesStatusCodeOperationAndTarget() {
        let error = RegistryError(.unauthorized, "authentication required", status: 401, code: "UNAUTHORIZED", operation: .pushing,
                                  registry: "127.0.0.1:5000", repository: "team/app")
        #expect(error.description == "401 unauthorized: pushing 127.0.0.1:5000/team/app: authentication required")
        let missing = RegistryError(.notFound, "", status: 404, code: "MANIFEST_UNKNOWN", operation: .pulling,
                                    registry: "127.0.0.1:5000", repository: "team/app", subject: ":v1")
        #expect(missing.description == "404 manifest unknown: pulling 127.0.0.1:5000/team/app:v1")
        #expect(missing.isNotFound)
        let plain = RegistryError(.status, "", status: 503, operation: .checking, registry: "r.example", repository: "a")
        #expect(plain.description == "503 service unavailable: checking r.example/a")
        let transport = RegistryError(.transport, "127.0.0.1: cannot connect to the host", operation: .pulling,
                                      registry: "127.0.0.1:1", repository: "x", subject: " blob sha256:ab")
        #expect(transport.description == "pulling 127.0.0.1:1/x blob sha256:ab: 127.0.0.1: cannot connect to the host")
        #expect(RegistryError(.configuration, "bad", registry: "").description == "bad")
    }

    @Test func distributionErrorDocuments() {
        let body = #"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"x"}},{"code":"OTHER","message":"second\nline"}]}"#
        #expect(ErrorBody(Array(body.utf8), contentType: "application/json")
            == ErrorBody(code: "NAME_UNKNOWN", message: "repository name not known to registry; second line"))
        #expect(ErrorBody(Array(#"{"errors":[{"code":"DENIED"}]}"#.utf8), contentType: nil) == ErrorBody(code: "DENIED", message: nil))
        #expect(ErrorBody([], contentType: nil) == ErrorBody(code: nil, message: nil))
    }

    @Test func htmlIsSummarisedNeverDumped() {
        let page = "<!DOCTYPE html>\n<html><head><title>\n 502 Bad\tGateway </title></head><body>" + String(repeating: "<p>noise</p>", count: 1000) + "</body></html>"
        let summary = ErrorBody(Array(page.utf8), contentType: "text/html; charset=utf-8")
        #expect(summary == ErrorBody(code: nil, message: #"the server answered with an HTML page ("502 Bad Gateway")"#))
        #expect(ErrorBody(Array("<html><body>x</body></html>".utf8), contentType: nil).message == "the server answered with an HTML page")
    }

    @Test func textIsCutToItsFirstLine() {
        #expect(ErrorBody(Array("upstream timed out\nstack trace…".utf8), contentType: "text/plain").message == "upstream timed out")
        let long = String(repeating: "x", count: 500)
        #expect(ErrorBody(Array(long.utf8), contentType: nil).message == String(repeating: "x", count: 200) + "…")
        #expect(ErrorBody.oneLine("a\u{1B}[31m  b\r\n") == "a [31m b")
    }
}
