import ArgumentParser
import Foundation
import Registry

/// The options every command that talks to a registry takes (SPEC §6).
struct RegistryFlags: ParsableArguments {
    @Option(help: ArgumentHelp("The credentials file (default: $REGISTRY_AUTH_FILE, then containers' auth.json, then ~/.docker/config.json).", valueName: "file"))
    var authfile: String?

    @Option(help: ArgumentHelp("A directory of *.crt files trusted for every registry (default: /etc/containers/certs.d/HOST[:PORT]/, /etc/docker/certs.d/…).", valueName: "dir"))
    var certDir: String?

    @Option(name: .customLong("insecure-registry"), help: ArgumentHelp("A registry to reach over plain HTTP (repeatable; also $KILN_INSECURE_REGISTRIES, comma separated).", valueName: "host[:port]"))
    var insecureRegistries: [String] = []

    /// The client options: the environment's, then these flags.
    func options(environment: [String: String]) -> RegistryOptions {
        var options = RegistryOptions(environment: environment)
        if let authfile { options.authFile = authfile }
        if let certDir { options.certDirectory = certDir }
        options.insecureRegistries.formUnion(insecureRegistries)
        return options
    }
}
