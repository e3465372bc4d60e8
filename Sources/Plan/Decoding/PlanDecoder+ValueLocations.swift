import KilnCore
import YAML

extension PlanDecoder {
    /// Where a layer writes the values that errors after parsing point at:
    /// each of `names` and `store_path` (see ``ValueLocations``).
    func valueLocations(of fields: Fields) -> ValueLocations {
        var locations = ValueLocations()
        for (index, node) in (fields.value("names")?.sequence ?? []).enumerated() {
            locations["names[\(index)]"] = diagnostics.location(node.mark)
        }
        if let node = fields.value("store_path") { locations["store_path"] = diagnostics.location(node.mark) }
        return locations
    }
}
