import KilnCore
import Plan
import Testing
import TestSupport

@Suite struct TimestampTests {
    /// Leap days, the end of a century, the largest RFC 3339 year.
    @Test(.requires(.tools("date")), arguments: [Int64(0), 951_782_400, 951_868_799, 1_700_000_000, 4_102_444_800, 253_402_300_799])
    func formatsAsDateDoes(seconds: Int64) throws {
        let expected = try Tools.run(["date", "-u", "-d", "@\(seconds)", "+%Y-%m-%dT%H:%M:%SZ"])
        #expect(Timestamp(secondsSinceEpoch: seconds).rfc3339 + "\n" == expected)
    }

    @Test(arguments: ["1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2024-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
    func parsesWhatItFormats(text: String) throws {
        #expect(try Timestamp(rfc3339: text).rfc3339 == text)
    }

    @Test func offsetsAreApplied() throws {
        #expect(try Timestamp(rfc3339: "2024-01-01T02:00:00+02:00").rfc3339 == "2024-01-01T00:00:00Z")
    }
}
