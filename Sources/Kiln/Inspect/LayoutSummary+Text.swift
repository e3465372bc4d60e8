import KilnCore
import OCI
extension LayoutSummary {
    /// The summary as lines for a person.
    public var text: String {
        var lines: [String] = []
        for image in images {
            lines.append(image.name ?? image.tag ?? image.manifestDigest.description)
            if let index = image.indexDigest { lines.append("  index       \(index)") }
            lines.append("  manifest    \(image.manifestDigest)")
            lines.append("  config      \(image.configDigest)")
            lines.append("  platform    \(image.platform)")
            if let created = image.created { lines.append("  created     \(created)") }
            lines.append("  layers      \(image.layers.count), \(image.size) bytes")
            for (index, layer) in image.layers.enumerated() {
                var line = "    \(index + 1). \(layer.digest) \(layer.size) bytes"
                if let diffID = layer.diffID { line += ", diff_id \(layer.diffID == layer.digest ? "same" : diffID.description)" }
                if layer.mediaType == MediaType.wasmLayer { line += ", WebAssembly module" }
                if let createdBy = layer.createdBy { line += "  (\(createdBy))" }
                lines.append(line)
            }
            let config = image.config
            func list(_ values: [String]) -> String { "[" + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
            if let entrypoint = config.entrypoint { lines.append("  entrypoint  \(list(entrypoint))") }
            if let cmd = config.cmd { lines.append("  cmd         \(list(cmd))") }
            if let workdir = config.workingDir { lines.append("  workdir     \(workdir)") }
            if let user = config.user { lines.append("  user        \(user)") }
            for entry in config.env ?? [] { lines.append("  env         \(entry)") }
            if let ports = config.exposedPorts, !ports.isEmpty { lines.append("  expose      \(ports.joined(separator: " "))") }
            if let volumes = config.volumes, !volumes.isEmpty { lines.append("  volumes     \(volumes.joined(separator: " "))") }
            if let signal = config.stopSignal { lines.append("  stop signal \(signal)") }
            for (key, value) in (config.labels ?? [:]).sorted(by: { $0.key < $1.key }) { lines.append("  label       \(key)=\(value)") }
            for (key, value) in image.annotations.sorted(by: { $0.key < $1.key }) { lines.append("  annotation  \(key)=\(value)") }
            for artifact in image.artifacts ?? [] { lines.append("  sbom        \(artifact.artifactType) \(artifact.digest)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
