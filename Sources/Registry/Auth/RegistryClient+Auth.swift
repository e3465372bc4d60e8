internal import Foundation
internal import KilnHTTP

extension RegistryClient {
    /// The `Authorization` to send before any challenge: what the registry
    /// was found to want (a fresh token for the call's scopes, or Basic),
    /// else nothing (anonymous).
    func upfrontAuthorization(_ call: Call) async throws(RegistryError) -> String? {
        switch auth.withLock({ $0.schemes[call.repository.registry] }) {
        case nil:
            return nil
        case .basic:
            return try await credential(call)?.basicAuthorization
        case .bearer(let realm, let service):
            return try await bearer(realm: realm, service: service, scopes: call.scopes, call: call, refresh: false)
        }
    }

    /// What to retry a `401` with, from the registry's challenges: a new
    /// token (Bearer) or the credential (Basic); nil when there is nothing
    /// new to try (no credential, or the one sent was refused).
    func authorization(answering challenges: [AuthChallenge], call: Call, sent: String?) async throws(RegistryError) -> String? {
        let registry = call.repository.registry
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }), let realmText = bearer.realm {
            guard let realm = URL(string: realmText), let scheme = realm.scheme?.lowercased(),
                  scheme == "https" || scheme == "http", realm.host != nil
            else {
                throw call.error(.invalidResponse, "the registry's token realm \"\(ErrorBody.oneLine(realmText))\" is not an http(s) URL")
            }
            let service = bearer.parameters["service"]
            auth.withLock { $0.schemes[registry] = .bearer(realm: realm, service: service) }
            var scopes = call.scopes
            for scope in (bearer.parameters["scope"] ?? "").split(separator: " ").map(String.init)
            where !scopes.contains(where: { Self.scope($0, covers: scope) }) {
                scopes.append(scope)
            }
            return try await self.bearer(realm: realm, service: service, scopes: scopes, call: call, refresh: sent != nil)
        }
        if challenges.contains(where: { $0.scheme == "basic" }) {
            auth.withLock { $0.schemes[registry] = .basic }
            guard let basic = try await credential(call)?.basicAuthorization, basic != sent else { return nil }
            return basic
        }
        return nil
    }

    /// Whether the token scope `held` (`repository:team/app:pull,push`)
    /// grants all that `wanted` asks: the same resource, and its actions
    /// among those held (in any order).
    static func scope(_ held: String, covers wanted: String) -> Bool {
        func split(_ scope: String) -> (resource: Substring, actions: Set<Substring>)? {
            guard let colon = scope.lastIndex(of: ":") else { return nil }
            return (scope[..<colon], Set(scope[scope.index(after: colon)...].split(separator: ",")))
        }
        guard let held = split(held), let wanted = split(wanted) else { return held == wanted }
        return held.resource == wanted.resource && wanted.actions.isSubset(of: held.actions)
    }

    /// The credential for the call's repository, looked up once.
    func credential(_ call: Call) async throws(RegistryError) -> Credential? {
        let key = call.repository.description
        if let known = auth.withLock({ $0.credentials[key] }) { return known }
        let found: Credential?
        do {
            found = try await credentialStore.credential(for: call.repository)
        } catch {
            throw call.adopting(error)
        }
        auth.withLock { $0.credentials[key] = .some(found) }
        return found
    }

    /// What a `401` message adds: whether credentials were found (and so
    /// refused) or where kiln looked.
    func authenticationHint(_ repository: Repository) -> String {
        switch auth.withLock({ $0.credentials[repository.description] }) {
        case .some(.some(let credential)):
            return "the registry refused the \(credential)"
        case .some(.none):
            let files = credentialStore.files
            return "no credentials for \(repository.registry)"
                + (files.isEmpty ? "" : " in " + files.joined(separator: ", "))
                + "; log in with podman login or docker login, or pass --authfile"
        case .none:
            return "authentication required"
        }
    }

    /// A bearer token for `scopes`: the cached one while it lasts (unless
    /// `refresh`), else one from the token server, cached. Calls that want
    /// the same token at once (parallel uploads meeting their first `401`)
    /// share one request to the token server.
    func bearer(realm: URL, service: String?, scopes: [String], call: Call, refresh: Bool) async throws(RegistryError) -> String {
        let key = AuthState.tokenKey(call.repository.registry, scopes)
        enum Next {
            case cached(AuthState.Token)
            case wait(AuthState.TokenTask)
        }
        let next = auth.withLock { state -> Next in
            if !refresh, let token = state.tokens[key], token.expires > .now { return .cached(token) }
            if let pending = state.pending[key] { return .wait(pending) }
            let task = AuthState.TokenTask { () -> Result<AuthState.Token, RegistryError> in
                let start = ContinuousClock.now
                do throws(RegistryError) {
                    let (value, lifetime) = try await self.fetchToken(realm: realm, service: service, scopes: scopes, call: call)
                    return .success(AuthState.Token(value: value, expires: start + lifetime))
                } catch {
                    return .failure(error)
                }
            }
            state.pending[key] = task
            return .wait(task)
        }
        switch next {
        case .cached(let token):
            return "Bearer " + token.value
        case .wait(let task):
            let result = await task.value
            auth.withLock { state in
                guard state.pending[key] == task else { return }
                state.pending[key] = nil
                if case .success(let token) = result { state.tokens[key] = token }
            }
            switch result {
            case .success(let token): return "Bearer " + token.value
            case .failure(let error): throw call.claiming(error)
            }
        }
    }

    /// Asks the token server for a token: `GET realm?service=&scope=…` with
    /// Basic authentication when there is a password, or a `POST` of
    /// `grant_type=refresh_token` with an identity token.
    private func fetchToken(realm: URL, service: String?, scopes: [String], call: Call) async throws(RegistryError) -> (String, Duration) {
        let credential = try await credential(call)
        var request: (method: String, url: URL, headers: HTTPHeaderFields, body: HTTPRequestBody?)
        if case .identityToken(let refreshToken)? = credential?.secret {
            var form = URLComponents()
            form.queryItems = [
                URLQueryItem(name: "grant_type", value: "refresh_token"),
                URLQueryItem(name: "refresh_token", value: refreshToken),
                URLQueryItem(name: "client_id", value: "kiln"),
                URLQueryItem(name: "scope", value: scopes.joined(separator: " ")),
            ] + (service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
            let encoded = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
            request = ("POST", realm, ["Content-Type": "application/x-www-form-urlencoded"], .bytes(Array(encoded.utf8)))
        } else {
            var components = URLComponents(url: realm, resolvingAgainstBaseURL: true)
            let query = (components?.queryItems ?? [])
                + (service.map { [URLQueryItem(name: "service", value: $0)] } ?? [])
                + scopes.map { URLQueryItem(name: "scope", value: $0) }
            components?.queryItems = query
            guard let url = components?.url else { throw call.error(.invalidResponse, "the registry's token realm is not a URL") }
            var headers: HTTPHeaderFields = [:]
            if let basic = credential?.basicAuthorization { headers["Authorization"] = basic }
            request = ("GET", url, headers, nil)
        }
        request.headers["Accept"] = "application/json"
        let tokenServer = realm.host ?? "the token server"
        let response = try await exchange(call, request.method, request.url, headers: request.headers, body: request.body, authenticate: false)
        guard response.status == 200 else {
            var error = await unexpected(response, call)
            error.message = "the token server \(tokenServer) refused"
                + (credential.map { " the \($0)" } ?? " an anonymous token")
                + (error.message.isEmpty ? "" : ": " + error.message)
            throw error
        }
        let body: [UInt8]
        do {
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw transportFailure(error, call, url: realm, attempts: 1)
        }
        guard let document = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let token = (document["token"] as? String).flatMap({ $0.isEmpty ? nil : $0 })
                ?? (document["access_token"] as? String).flatMap({ $0.isEmpty ? nil : $0 })
        else {
            throw call.error(.invalidResponse, "the token server \(tokenServer) sent no token")
        }
        let seconds = (document["expires_in"] as? NSNumber)?.intValue ?? 60
        return (token, AuthState.lifetime(seconds: seconds > 0 ? seconds : 60))
    }
}
