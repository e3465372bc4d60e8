import Foundation
import Archive
import KilnCore
import OCI
import Strategies
import Glibc
public import Plan

/// Why `kiln build` failed, naming the layer or step.
public enum ImageBuildError: Error, CustomStringConvertible {
    /// A layer failed; `error` says how.
    case layer(name: String, any Error)
    /// The base image could not be read or reused.
    case base(any Error)
    /// The output layout or archive could not be written.
    case output(any Error)
    /// Packages lock file problems (`--locked`, unreadable lock).
    case lock(String)
    /// The build's scratch directory could not be created.
    case scratch(path: String, errno: Int32)
    /// `--platform` names a platform the plan does not build.
    case platform(requested: String, planned: [String])
    /// Building one platform of a `platforms:` plan failed: `error` says how.
    indirect case forPlatform(String, ImageBuildError)
    /// The SBOM could not be made.
    case sbom(SBOMError)
    /// `--strict`: the build gave warnings, which count as errors.
    case strict(StrictWarnings)

    /// Whether the message starts with the place in the plan it is about
    /// (`plan.yaml:7:9: error: layer "tree": …`), the form of plan errors,
    /// so it is shown as it is rather than after `kiln: error:`.
    public var startsWithPlanLocation: Bool {
        switch self {
        case .layer(_, let error): error is FilesStrategyError || LayerErrorPlaces.isLocated(error)
        case .forPlatform(_, let error): error.startsWithPlanLocation
        case .base(let error): error is BasePlanError
        case .strict: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .layer(let name, let error):
            // Strategy errors usually name their layer already; a files
            // layer's after the plan location of the entry at fault.
            error is FilesStrategyError || LayerErrorPlaces.isLocated(error) || "\(error)".hasPrefix("layer \"\(name)\"") ? "\(error)" : "layer \"\(name)\": \(error)"
        case .base(let error): error is BasePlanError ? "\(error)" : "base image: \(error)"
        // Layout errors about the output name it already ("output /x is …").
        case .output(let error): "\(error)".hasPrefix("output ") ? "\(error)" : "output: \(error)"
        case .lock(let message): message
        case .scratch(let path, let code): "cannot create a scratch directory in \(path): \(String(cString: strerror(code)))"
        case .platform(let requested, let planned):
            "--platform \(requested): the plan builds \(planned.joined(separator: ", ")) (list it under platforms: to build it)"
        case .forPlatform(let platform, let error):
            // A plan location stays first; the platform follows it, on
            // each line of several located errors.
            error.startsWithPlanLocation
                ? "\(error)".split(separator: "\n").map { "\($0) (building \(platform))" }.joined(separator: "\n")
                : "\(platform): \(error)"
        case .sbom(let error): "\(error)"
        case .strict(let warnings): "\(warnings)"
        }
    }
}
