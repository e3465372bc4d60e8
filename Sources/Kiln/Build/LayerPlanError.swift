public import Plan

/// A layer that built but cannot go into the image as the plan says: an
/// error at the layer's place in the plan (`file:line:col: error: layer
/// "name": …`), like every plan error.
public struct LayerPlanError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The layer's name.
    public var layer: String
    /// Where the layer's mapping starts in the plan.
    public var location: SourceLocation
    /// What is wrong, and what to do about it.
    public var message: String

    public init(layer: String, location: SourceLocation, message: String) {
        self.layer = layer
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): error: layer \"\(layer)\": \(message)" }
}
