import Foundation
import Testing
@testable import Registry

@Suite struct RetryTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT

    @Test func retryAfterInSecondsAndDates() {
        #expect(RegistryClient.retryAfter("3", now: now) == .seconds(3))
        #expect(RegistryClient.retryAfter(" 0 ", now: now) == .zero)
        #expect(RegistryClient.retryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == .seconds(5))
        #expect(RegistryClient.retryAfter("Tuesday, 14-Nov-23 22:13:30 GMT", now: now) == .seconds(10))
        #expect(RegistryClient.retryAfter("Tue Nov 14 22:13:22 2023", now: now) == .seconds(2))
        #expect(RegistryClient.retryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now: now) == .zero)
        #expect(RegistryClient.retryAfter(nil, now: now) == nil)
        #expect(RegistryClient.retryAfter("soon", now: now) == nil)
        #expect(RegistryClient.retryAfter("-5", now: now) == nil)
    }

    @Test func delaysDoubleWithJitterAndAreCapped() {
        let policy = RetryPolicy(attempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for retry in 1...4 {
            let full = Duration.milliseconds(100 * (1 << (retry - 1)))
            let delay = policy.delay(beforeRetry: retry, retryAfter: nil)
            #expect(delay >= full / 2 && delay <= full)
        }
        #expect(policy.delay(beforeRetry: 40, retryAfter: nil) <= .seconds(1))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(120)) == .seconds(1))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .milliseconds(300)) == .milliseconds(300))
    }

    @Test func whichStatusesAreRetried() {
        #expect([429, 500, 502, 503, 504, 599].allSatisfy(RegistryClient.isRetryable(status:)))
        #expect(![200, 201, 400, 401, 403, 404, 416, 501].contains(where: RegistryClient.isRetryable(status:)))
    }

    @Test func optionsFromTheEnvironment() {
        let options = RegistryOptions(environment: ["KILN_INSECURE_REGISTRIES": "127.0.0.1:5000, localhost ,,"])
        #expect(options.insecureRegistries == ["127.0.0.1:5000", "localhost"])
        #expect(options.retry.attempts == 5)
        #expect(options.retry.baseDelay == .milliseconds(500))
        #expect(options.retry.maxDelay == .seconds(30))
        #expect(options.chunkSize == 16 << 20)
        #expect(options.certsDirectories == ["/etc/containers/certs.d", "/etc/docker/certs.d"])
        #expect(RegistryOptions(environment: [:]).insecureRegistries.isEmpty)
    }

    @Test func badProxyVariablesAreAConfigurationError() {
        let error = #expect(throws: RegistryError.self) {
            try RegistryClient(options: RegistryOptions(environment: ["HTTPS_PROXY": "ftp://proxy.invalid:21"]))
        }
        #expect(error?.kind == .configuration)
        #expect(error?.description.contains("HTTPS_PROXY") == true)
    }
}
