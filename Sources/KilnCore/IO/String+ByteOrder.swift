import Glibc

extension String {
    /// Whether `self` sorts before `other` in the byte order of their UTF-8
    /// (the order of layer entries and of input digests' records).
    ///
    /// Compares with `memcmp` on the strings' own storage: sorting tens of
    /// thousands of paths through `utf8.lexicographicallyPrecedes` costs
    /// more than writing their tar headers.
    public func utf8Precedes(_ other: String) -> Bool {
        let order = utf8.withContiguousStorageIfAvailable { a in
            other.utf8.withContiguousStorageIfAvailable { b -> Bool in
                let common = Swift.min(a.count, b.count)
                let result = common == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, common)
                return result != 0 ? result < 0 : a.count < b.count
            }
        }
        return (order ?? nil) ?? utf8.lexicographicallyPrecedes(other.utf8)
    }
}
