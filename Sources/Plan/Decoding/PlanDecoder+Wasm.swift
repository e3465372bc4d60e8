import KilnCore
import YAML

extension PlanDecoder {
    // MARK: wasm

    /// A `wasm` layer: `module`, a host file inside the context.
    mutating func wasm(_ fields: Fields, prefix: String) -> WasmLayer? {
        let resolver = paths // a copy: the closure runs while self is mutated
        guard let node = fields.required("module", diagnostics: &diagnostics) else { return nil }
        return checked(node, "\(prefix)\"module\"", prefix: prefix) { text throws(SyntaxError) in
            WasmLayer(module: try resolver.resolve(text, what: "module"))
        }
    }

    /// What a platform's image may hold (SPEC §1.5): a WebAssembly platform
    /// (`wasip1/wasm`) only `wasm` layers, any other only tar layers; each
    /// misplaced layer is an error at its location, for each platform of
    /// the plan it does not fit. An image of `wasm` layers without an
    /// entrypoint gets `["/<module file name>"]` of its first module, the
    /// name runwasi runs (docs/platforms.md).
    /// - Returns: false when a layer does not belong on one of `platforms`.
    mutating func checkLayerKinds(_ layers: [LayerSpec], platforms: [Platform], config: inout RuntimeConfig) -> Bool {
        var ok = true
        for platform in platforms {
            for layer in layers where layer.strategy.isTar == platform.isWebAssembly {
                let message = platform.isWebAssembly
                    ? "a \(layer.strategy.typeName) layer is a tar file system, which a WebAssembly image (platform \(platform)) cannot hold; use type: wasm"
                    : "a wasm layer needs platform: wasip1/wasm, not \(platform)"
                diagnostics.errors(at: layer.location, "layer \(quoted(layer.name)): \(message)")
                ok = false
            }
        }
        if ok, platforms.contains(where: \.isWebAssembly), config.entrypoint == nil,
           case .wasm(let first)? = layers.first(where: { !$0.strategy.isTar })?.strategy {
            config.entrypoint = ["/" + first.fileName]
        }
        return ok
    }
}
