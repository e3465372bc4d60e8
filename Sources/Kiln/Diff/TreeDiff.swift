import KilnCore
import OCI

/// Comparisons of JSON trees, shared by the plan and the layout diffs: plain
/// values, maps by key, sets by member, and keyed lists by item key.
///
/// Every result is in a fixed order (fields in the order asked, keys and
/// members in UTF-8 byte order), so the same inputs print the same diff.
enum TreeDiff {
    /// The change of one field, or nothing when both sides agree.
    static func value(_ field: String, key: String? = nil, _ old: JSONValue?, _ new: JSONValue?) -> [ValueChange] {
        old == new ? [] : [ValueChange(field: field, key: key, old: old, new: new)]
    }

    /// Every key whose value differs between two maps.
    static func map(_ field: String, _ old: [String: JSONValue], _ new: [String: JSONValue]) -> [ValueChange] {
        sortedKeys(Set(old.keys).union(new.keys)).flatMap { value(field, key: $0, old[$0], new[$0]) }
    }

    /// Members only on one side of two sets (given as lists): removed ones
    /// first, then added ones, each in the order of their JSON text.
    static func set(_ field: String, _ old: [JSONValue], _ new: [JSONValue]) -> [ValueChange] {
        let oldSet = Set(old), newSet = Set(new)
        let removed = ordered(oldSet.subtracting(newSet)).map { ValueChange(field: field, old: $0, new: nil) }
        let added = ordered(newSet.subtracting(oldSet)).map { ValueChange(field: field, old: nil, new: $0) }
        return removed + added
    }

    /// Fields of two objects that differ, `order` first, then any others by key.
    static func fields(_ old: [String: JSONValue], _ new: [String: JSONValue], order: [String], skipping: Set<String> = []) -> [ValueChange] {
        let present = Set(old.keys).union(new.keys).subtracting(skipping)
        let known = order.filter(present.contains)
        let others = sortedKeys(present.subtracting(order))
        return (known + others).flatMap { value($0, old[$0], new[$0]) }
    }

    /// Items of two keyed lists that differ, by key, and — when the items
    /// on both sides come in another order — the two orders.
    /// - Parameters:
    ///   - key: what identifies an item (an entry's path, a package's name).
    ///   - skipping: fields of object items left out of their `fields`
    ///     (the key field itself).
    static func items(
        _ section: String, _ old: [JSONValue], _ new: [JSONValue],
        key: (JSONValue) -> String, order: [String], skipping: Set<String>
    ) -> (items: [ItemChange], reordered: ValueChange?) {
        let oldItems = keyed(old, key), newItems = keyed(new, key)
        var changes: [ItemChange] = []
        for name in sortedKeys(Set(oldItems.values.keys).union(newItems.values.keys)) {
            let before = oldItems.values[name], after = newItems.values[name]
            guard before != after else { continue }
            var fields: [ValueChange] = []
            if let before, let after, case .object(let a) = before, case .object(let b) = after {
                fields = self.fields(a, b, order: order, skipping: skipping)
            }
            changes.append(ItemChange(section: section, key: name, old: before.map { without($0, skipping) }, new: after.map { without($0, skipping) }, fields: fields))
        }
        let common = Set(oldItems.order).intersection(newItems.order)
        let oldOrder = oldItems.order.filter(common.contains), newOrder = newItems.order.filter(common.contains)
        let reordered = oldOrder == newOrder ? nil
            : ValueChange(field: section + "_order", old: .array(oldOrder.map(JSONValue.string)), new: .array(newOrder.map(JSONValue.string)))
        return (changes, reordered)
    }

    /// The object fields of a value, or none for anything else.
    static func object(_ value: JSONValue?) -> [String: JSONValue] {
        if case .object(let fields) = value { return fields }
        return [:]
    }

    /// The items of an array value, or none for anything else.
    static func array(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items) = value { return items }
        return []
    }

    /// The text of a string value.
    static func string(_ value: JSONValue?) -> String? {
        if case .string(let text) = value { return text }
        return nil
    }

    static func sortedKeys<Keys: Sequence>(_ keys: Keys) -> [String] where Keys.Element == String {
        keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func ordered(_ values: Set<JSONValue>) -> [JSONValue] {
        values.map { (DiffValue.json($0), $0) }.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map(\.1)
    }

    private static func without(_ value: JSONValue, _ keys: Set<String>) -> JSONValue {
        guard case .object(var fields) = value, !keys.isEmpty else { return value }
        for key in keys { fields[key] = nil }
        return .object(fields)
    }

    /// Items by key, and the keys in list order (a repeated key keeps its
    /// last item, as the later entry wins).
    private static func keyed(_ items: [JSONValue], _ key: (JSONValue) -> String) -> (values: [String: JSONValue], order: [String]) {
        var values: [String: JSONValue] = [:]
        var order: [String] = []
        for item in items {
            let name = key(item)
            if values.updateValue(item, forKey: name) == nil { order.append(name) }
        }
        return (values, order)
    }
}
