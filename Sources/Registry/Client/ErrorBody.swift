internal import Foundation

/// What an error response's body says: the distribution API's
/// `{"errors":[{"code","message"}]}`, else a one-line summary (an HTML
/// page by its title, text by its first line), never the whole body.
struct ErrorBody: Equatable {
    /// The first error's code (`MANIFEST_UNKNOWN`), when the body is the
    /// API's error document.
    var code: String?
    /// The errors' messages joined with `; `, or the summary; nil for an
    /// empty body.
    var message: String?

    /// The longest summary of a body that is not an error document.
    static let summaryLimit = 200

    init(code: String?, message: String?) {
        self.code = code
        self.message = message
    }

    /// Reads `body` (at most a few KiB of it are passed in).
    init(_ body: [UInt8], contentType: String?) {
        if let document = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
           let errors = document["errors"] as? [[String: Any]], !errors.isEmpty {
            code = errors.lazy.compactMap { $0["code"] as? String }.first
            let messages = errors.compactMap { ($0["message"] as? String).map { ErrorBody.oneLine($0) } }.filter { !$0.isEmpty }
            message = messages.isEmpty ? nil : messages.joined(separator: "; ")
            return
        }
        code = nil
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty {
            message = nil
        } else if ErrorBody.isHTML(text, contentType: contentType) {
            message = "the server answered with an HTML page" + (ErrorBody.title(of: text).map { " (\"\($0)\")" } ?? "")
        } else {
            message = ErrorBody.oneLine(text.prefix { $0 != "\n" && $0 != "\r" })
        }
    }

    /// Whether the text (or its content type) says it is HTML.
    static func isHTML(_ text: String, contentType: String?) -> Bool {
        if let contentType, contentType.lowercased().hasPrefix("text/html") { return true }
        let start = text.prefix(64).lowercased()
        return start.hasPrefix("<!doctype html") || start.hasPrefix("<html") || start.hasPrefix("<head") || start.hasPrefix("<body")
    }

    /// The contents of an HTML page's `<title>`, cut to one short line.
    static func title(of html: String) -> String? {
        guard let open = html.range(of: "<title>", options: .caseInsensitive),
              let close = html.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<html.endIndex)
        else { return nil }
        let title = oneLine(html[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines))
        return title.isEmpty ? nil : title
    }

    /// `text` on one line: control characters as spaces, runs of spaces
    /// folded, cut past ``summaryLimit`` characters.
    static func oneLine(_ text: some StringProtocol) -> String {
        var out = ""
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            let isSpace = scalar.properties.isWhitespace || scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            if isSpace {
                if !lastWasSpace, !out.isEmpty { out += " " }
                lastWasSpace = true
            } else {
                out.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
        }
        if out.hasSuffix(" ") { out.removeLast() }
        return out.count > summaryLimit ? String(out.prefix(summaryLimit)) + "…" : out
    }
}
