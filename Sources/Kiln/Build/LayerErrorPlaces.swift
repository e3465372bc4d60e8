public import Plan
public import Debian
import Strategies

/// Several errors of one layer, each at the plan value it is about, one
/// line each (every missing package of a packages layer).
public struct LayerPlanErrors: Error, Sendable, CustomStringConvertible {
    /// At least two errors, in plan order.
    public var errors: [LayerPlanError]

    /// Collects one layer's located errors, in plan order.
    public init(_ errors: [LayerPlanError]) {
        self.errors = errors
    }

    /// One `file:line:col: error: layer "x": …` line per error.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Puts a layer's failure at the place in the plan of the value it is
/// about, as plan errors are (`file:line:col: error: layer "x": …`): a
/// package name at its entry in `names`, a derivation's failure at its
/// `store_path`. Other failures are returned as they are.
public enum LayerErrorPlaces {
    /// `error`, located in `layer` where the plan says what it is about.
    /// - Parameter shownName: the layer as messages name it (a lock key
    ///   such as `runtime@linux/arm64`), or nil for its name.
    /// - Returns: a ``LayerPlanError``, ``LayerPlanErrors``, or `error`.
    public static func locate(_ error: any Error, in layer: LayerSpec, shownName: String? = nil) -> any Error {
        let name = shownName ?? layer.name
        switch error {
        case let resolution as ResolutionError:
            var failures: [(atom: Int?, error: ResolutionError)] = [(nil, resolution)]
            if case .requested(let all) = resolution { failures = all.map { ($0.atom, $0.error) } }
            let located = failures.map { atom, error in
                LayerPlanError(
                    layer: name, location: atom.flatMap { layer.valueLocations["names[\($0)]"] } ?? layer.location,
                    message: error.description)
            }
            return located.count == 1 ? located[0] : LayerPlanErrors(located)
        case let derivation as DerivationError:
            return LayerPlanError(layer: name, location: layer.valueLocations["store_path"] ?? layer.location, message: derivation.message)
        default:
            return error
        }
    }

    /// Whether `error` is one of this type's results: its message starts
    /// with its place in the plan.
    public static func isLocated(_ error: any Error) -> Bool {
        error is LayerPlanError || error is LayerPlanErrors || error is BasePlanError
    }
}

extension LockFailure {
    /// Each failed layer's error, at its place in the plan where
    /// ``LayerErrorPlaces`` knows it, and with the layer's lock key
    /// (`runtime@linux/arm64`) as its name: in order, with the layer.
    public var located: [(layer: String, location: SourceLocation, error: any Error)] {
        layers.map { failure in
            (failure.key, failure.spec.location, LayerErrorPlaces.locate(failure.error, in: failure.spec, shownName: failure.key))
        }
    }

    /// The lines `kiln lock` prints: located errors as plan errors are
    /// printed, the others after `kiln: error: layer "KEY": `.
    public var lines: [String] {
        located.flatMap { layer, _, error in
            LayerErrorPlaces.isLocated(error)
                ? "\(error)".split(separator: "\n").map(String.init)
                : "\(error)".split(separator: "\n").map { "kiln: error: layer \"\(layer)\": \($0)" }
        }
    }
}

/// A base image the plan's `base:` names that cannot be used as it says
/// (a ref or platform the layout lacks, a layout that cannot be read, a
/// registry that refuses): reported at `base:`, as plan errors are.
public struct BasePlanError: Error, Sendable, CustomStringConvertible {
    /// Where the plan writes `base:`.
    public var location: SourceLocation
    /// Why the base cannot be used.
    public var error: any Error

    /// `error`, at the plan's `base:`.
    public init(location: SourceLocation, error: any Error) {
        self.location = location
        self.error = error
    }

    /// `file:line:col: error: base image: …`.
    public var description: String { "\(location): error: base image: \(error)" }
}
