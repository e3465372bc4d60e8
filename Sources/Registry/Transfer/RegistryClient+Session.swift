extension RegistryClient {
    /// Runs `body` with a client made from `options`, shut down afterwards
    /// whether `body` succeeds or throws.
    /// - Throws: what the initializer or `body` throws.
    public static func session<Result: Sendable>(
        _ options: RegistryOptions, _ body: (RegistryClient) async throws -> Result
    ) async throws -> Result {
        let client = try RegistryClient(options: options)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
