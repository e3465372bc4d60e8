import Archive
import KilnCore
import OCI
import Plan
import Strategies

/// The image config: the base's, overridden by the plan.
///
/// - `entrypoint` replaces the base's; set without `cmd`, it clears the
///   base's `cmd` (which was meant for the old entrypoint).
/// - `env` and `labels` merge by key, the plan winning; an inherited
///   variable keeps its place, new ones follow in sorted order.
/// - `expose` and `volumes` add to the base's.
/// - `workdir`, `user` and `stop_signal` replace the base's when set.
/// - History keeps the base's entries (adding one per base layer when the
///   base had none) and adds `kiln <type> <layer name>` per layer.
enum ImageConfigComposer {
    static func compose(plan: ImageBuildPlan, base: ImageConfig?, layers: [History], diffIDs: [ContentDigest]) -> ImageConfig {
        var container = base?.config ?? ContainerConfig()
        let runtime = plan.config
        if let entrypoint = runtime.entrypoint {
            container.entrypoint = entrypoint
            container.cmd = runtime.cmd
        } else if let cmd = runtime.cmd {
            container.cmd = cmd
        }
        container.env = mergedEnvironment(container.env ?? [], runtime.env)
        if container.env?.isEmpty == true { container.env = nil }
        if let workdir = runtime.workdir { container.workingDir = workdir }
        if let user = runtime.user { container.user = user }
        if let signal = runtime.stopSignal { container.stopSignal = signal }
        if !runtime.expose.isEmpty { container.exposedPorts = Array(Set((container.exposedPorts ?? []) + runtime.expose)).sorted() }
        if !runtime.volumes.isEmpty { container.volumes = Array(Set((container.volumes ?? []) + runtime.volumes)).sorted() }
        if !runtime.labels.isEmpty { container.labels = (container.labels ?? [:]).merging(runtime.labels) { _, plan in plan } }

        var history = base?.history ?? []
        let baseLayers = diffIDs.count - layers.count
        if history.filter({ $0.emptyLayer != true }).count < baseLayers {
            history = (0..<baseLayers).map { _ in History(created: plan.created.rfc3339, createdBy: "kiln base layer") }
        }
        history += layers

        return ImageConfig(
            created: plan.created.rfc3339, architecture: plan.platform.architecture, os: plan.platform.os,
            variant: plan.platform.variant, config: container, rootfs: RootFS(diffIDs: diffIDs), history: history)
    }

    /// `KEY=value` entries: the base's order kept, the plan's values winning,
    /// new keys appended sorted.
    static func mergedEnvironment(_ base: [String], _ plan: [String: String]) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for entry in base {
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            seen.insert(key)
            result.append(plan[key].map { key + "=" + $0 } ?? entry)
        }
        for key in plan.keys.sorted() where !seen.contains(key) { result.append(key + "=" + plan[key]!) }
        return result
    }
}
