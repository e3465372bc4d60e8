import Crypto
import Foundation
import KilnCore
import Testing

/// `ContentDigest` holds the hash's 32 bytes: its text, order, equality
/// and JSON form must be those of the `sha256:<hex>` string it stands for.
@Suite struct ContentDigestTests {
    /// Digests of a few inputs, with the hex `sha256sum` would print
    /// (computed here by swift-crypto's own hex of the hash bytes).
    static let samples: [(digest: ContentDigest, hex: String)] = ["", "a", "kiln", String(repeating: "x", count: 1000)].map { text in
        let hash = SHA256.hash(data: Array(text.utf8))
        return (ContentDigest(sha256Bytes: hash), hash.map { String(format: "%02x", $0) }.joined())
    }

    @Test func textIsTheHashInLowercaseHex() throws {
        for (digest, hex) in Self.samples {
            #expect(digest.hex == hex)
            #expect(digest.description == "sha256:" + hex)
            #expect(digest.blobPath == "sha256/" + hex)
            #expect(try ContentDigest(parsing: "sha256:" + hex) == digest)
        }
        // The empty input's digest, as `sha256sum </dev/null` prints it.
        #expect(Self.samples[0].digest.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func orderAndEqualityAreThoseOfTheText() throws {
        let digests = Self.samples.map(\.digest)
        #expect(digests.sorted().map(\.hex) == digests.map(\.hex).sorted())
        #expect(Set(digests).count == digests.count)
        // Digests differing in the last nibble only, and in the first.
        let low = try ContentDigest(parsing: "sha256:" + String(repeating: "0", count: 63) + "1")
        let high = try ContentDigest(parsing: "sha256:1" + String(repeating: "0", count: 63))
        #expect(low < high && !(high < low) && low != high)
    }

    @Test func parsingRefusesWhatIsNotALowercaseSHA256() {
        let hex = Self.samples[1].hex
        for text in ["sha512:" + hex, hex, "sha256:" + hex.uppercased(), "sha256:" + hex.dropLast(), "sha256:" + hex + "0", "sha256:" + hex.dropLast() + "g"] {
            #expect(throws: DigestError.self) { try ContentDigest(parsing: text) }
        }
    }

    @Test func jsonIsTheDigestString() throws {
        let digest = Self.samples[2].digest
        let data = try JSONEncoder().encode([digest])
        #expect(String(decoding: data, as: UTF8.self) == "[\"sha256:\(Self.samples[2].hex)\"]")
        #expect(try JSONDecoder().decode([ContentDigest].self, from: data) == [digest])
    }
}
