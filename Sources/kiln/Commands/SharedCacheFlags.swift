import ArgumentParser
import Kiln
import KilnCore
import Registry

/// `--cache-registry` where a command asks the shared layer cache
/// (`diff`, `cache info`), with the registry options to reach it.
struct SharedCacheFlags: ParsableArguments {
    @Option(help: ArgumentHelp("The registry repository of the shared layer cache (also $KILN_CACHE_REGISTRY).", valueName: "ref"))
    var cacheRegistry: String?

    @OptionGroup var registry: RegistryFlags

    /// The shared cache named by the flag or the environment, or nil.
    /// - Throws: ``CommandFailure`` (exit 2) for a reference that does not
    ///   parse, (exit 1) when the client cannot be made.
    func open(environment: [String: String]) throws -> SharedLayerCache? {
        guard let text = cacheRegistry ?? environment["KILN_CACHE_REGISTRY"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        let reference: RegistryReference
        do {
            reference = try RegistryReference(parsing: text)
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: --cache-registry: \(error)")
        }
        do {
            return try SharedLayerCache(
                reference: reference, mode: .read, options: registry.options(environment: environment),
                timeout: SharedLayerCache.defaultTimeout, observer: QuietBuild())
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}

/// An observer for library calls whose notes the command reports itself.
struct QuietBuild: BuildObserver {}
