public import KilnCore
extension Timestamp {
    /// 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
    public static let latest = Timestamp(secondsSinceEpoch: 253_402_300_799)

    /// Parses an RFC 3339 date-time with whole seconds:
    /// `2024-01-01T00:00:00Z` or `2024-01-01T02:00:00+02:00`.
    public init(rfc3339 text: String) throws(SyntaxError) {
        let bytes = Array(text.utf8)
        let error = SyntaxError("\(quoted(text)) is not an RFC 3339 timestamp like \"2024-01-01T00:00:00Z\"")
        func number(_ range: Range<Int>) throws(SyntaxError) -> Int {
            guard range.upperBound <= bytes.count else { throw error }
            var value = 0
            for b in bytes[range] {
                guard (0x30...0x39).contains(b) else { throw error }
                value = value * 10 + Int(b - 0x30)
            }
            return value
        }
        func expect(_ index: Int, _ chars: String) throws(SyntaxError) {
            guard index < bytes.count, chars.utf8.contains(bytes[index]) else { throw error }
        }
        let year = try number(0..<4)
        try expect(4, "-")
        let month = try number(5..<7)
        try expect(7, "-")
        let day = try number(8..<10)
        try expect(10, "Tt ")
        let hour = try number(11..<13)
        try expect(13, ":")
        let minute = try number(14..<16)
        try expect(16, ":")
        let second = try number(17..<19)
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            throw SyntaxError("\(quoted(text)) has fractional seconds; image timestamps are whole seconds")
        }
        var offset = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
        } else {
            try expect(index, "+-")
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let hours = try number(index + 1..<index + 3)
            try expect(index + 3, ":")
            let minutes = try number(index + 4..<index + 6)
            guard hours < 24, minutes < 60 else { throw error }
            offset = sign * (hours * 3600 + minutes * 60)
            index += 6
        }
        guard index == bytes.count, (1...12).contains(month), hour < 24, minute < 60, second < 60,
              (1...Timestamp.daysIn(month: month, year: year)).contains(day)
        else { throw error }
        let seconds = Int64(Timestamp.daysFromCivil(year: year, month: month, day: day)) * 86_400
            + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        guard seconds >= 0 else { throw SyntaxError("\(quoted(text)) is before 1970-01-01T00:00:00Z") }
        self.init(secondsSinceEpoch: seconds)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
