internal import Foundation
internal import KilnHTTP

extension RegistryClient {
    /// Sends one API request: with the authorization the registry is known
    /// to want, answering one `401` challenge, and retrying connection
    /// errors, `429` and `5xx` (not `501`) as ``RegistryOptions/retry``
    /// allows (waiting as `Retry-After` says, capped).
    ///
    /// A file body is re-sent from the file on each try. Returns any other
    /// response, whatever its status, for the caller to judge.
    /// - Parameters:
    ///   - retrying: false for a request that must not be repeated as it is
    ///     (an upload chunk: the caller resumes from what the registry has).
    ///   - authenticate: false for the token request itself.
    func exchange(
        _ call: Call, _ method: String, _ url: URL, headers: HTTPHeaderFields = [:], body: HTTPRequestBody? = nil,
        retrying: Bool = true, authenticate: Bool = true
    ) async throws(RegistryError) -> HTTPResponse {
        let policy = options.retry
        var attempt = 1
        var answeredChallenge = false
        let mayAuthorize = authenticate && isRegistryHost(url, call.repository.registry)
        var authorization = mayAuthorize ? try await upfrontAuthorization(call) : nil
        let transport = try transport(for: url, call: call)
        while true {
            if Task.isCancelled { throw call.error(.cancelled, "cancelled") }
            var request = HTTPRequest(method: method, url: url, headers: headers, body: body)
            if let authorization { request.headers["Authorization"] = authorization }
            let response: HTTPResponse
            do {
                response = try await transport.send(request)
            } catch {
                if retrying, error.isTransient, attempt < max(policy.attempts, 1) {
                    try await pause(policy.delay(beforeRetry: attempt, retryAfter: nil), call)
                    attempt += 1
                    continue
                }
                throw transportFailure(error, call, url: url, attempts: attempt)
            }
            if response.status == 401, mayAuthorize, !answeredChallenge {
                answeredChallenge = true
                let challenges = AuthChallenge.parse(response.headers.values(for: "WWW-Authenticate"))
                if let next = try await self.authorization(answering: challenges, call: call, sent: authorization) {
                    authorization = next
                    continue
                }
            }
            if retrying, Self.isRetryable(status: response.status), attempt < max(policy.attempts, 1) {
                let retryAfter = Self.retryAfter(response.headers["Retry-After"], now: Date())
                try await pause(policy.delay(beforeRetry: attempt, retryAfter: retryAfter), call)
                attempt += 1
                continue
            }
            return response
        }
    }

    /// `429` and `5xx` but `501 Not Implemented`: worth another try.
    static func isRetryable(status: Int) -> Bool {
        status == 429 || ((500...599).contains(status) && status != 501)
    }

    /// A `Retry-After` value (delay seconds or an HTTP date) as a wait from
    /// `now`; nil when absent or unreadable, zero for a date passed.
    static func retryAfter(_ value: String?, now: Date) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            return Int64(value).map { Duration.seconds($0) } ?? .seconds(Int64.max / 1_000_000_000_000)
        }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: value) {
                let seconds = max(date.timeIntervalSince(now), 0)
                return .milliseconds(Int64((seconds * 1000).rounded(.up)))
            }
        }
        return nil
    }

    /// Sleeps `delay` unless the task is cancelled.
    func pause(_ delay: Duration, _ call: Call) async throws(RegistryError) {
        do {
            try await Task.sleep(for: delay)
        } catch {
            throw call.error(.cancelled, "cancelled")
        }
    }

    /// A failure below HTTP as a registry error, with a hint for TLS.
    func transportFailure(_ error: HTTPTransportError, _ call: Call, url: URL, attempts: Int) -> RegistryError {
        switch error.kind {
        case .cancelled:
            return call.error(.cancelled, "cancelled")
        case .tls:
            let host = call.repository.registry
            let hint = url.scheme == "https"
                ? " (if \(host) serves plain HTTP, name it with --insecure-registry \(host); if its certificate is from a private CA, put the CA in --cert-dir or /etc/containers/certs.d/\(host)/)"
                : ""
            return call.error(.tls, error.description + hint)
        case .file:
            return call.error(.file, error.description)
        case .invalidRequest, .shutDown:
            return call.error(.configuration, error.description)
        case .tooLarge:
            return call.error(.tooLarge, error.description)
        case .cannotConnect, .cannotResolve, .timedOut, .connectionLost, .proxy, .other:
            let tries = attempts > 1 ? " (after \(attempts) attempts)" : ""
            return call.error(.transport, "\(url.host ?? "the registry"): " + error.description + tries)
        }
    }

    /// The error for a response the caller did not expect: its status, the
    /// registry's error code and message (from at most 64 KiB of body).
    func unexpected(_ response: HTTPResponse, _ call: Call) async -> RegistryError {
        let body = await Self.prefix(of: response.body, limit: 64 << 10)
        let parsed = ErrorBody(body, contentType: response.headers["Content-Type"])
        let status = response.status
        let kind: RegistryError.Kind = switch status {
        case 401: .unauthorized
        case 403: .denied
        case 404: .notFound
        default: .status
        }
        var message = parsed.message ?? ""
        if parsed.code.map(RegistryError.words) == message.lowercased() { message = "" }
        if status == 401 {
            let hint = authenticationHint(call.repository)
            message += message.isEmpty ? hint : " (\(hint))"
        }
        return call.error(kind, message, status: status, code: parsed.code)
    }

    /// Up to `limit` bytes of `body`; what does not arrive is left out.
    static func prefix(of body: HTTPBody, limit: Int) async -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = body.makeAsyncIterator()
        while bytes.count < limit, let chunk = try? await iterator.next() {
            bytes += chunk.prefix(limit - bytes.count)
        }
        return bytes
    }
}
