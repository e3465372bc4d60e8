/// The plan format's JSON Schema, embedded so `kiln schema` works from any
/// installed binary. `schemas/kiln-plan.schema.json` holds the same bytes
/// (a test keeps them equal; `scripts/sync-schema` regenerates this file).
public enum PlanSchema {
    /// The schema document, JSON text ending in a newline.
    public static let json = #"""
{}

"""#
}
