import ArgumentParser
import KilnCore
import Plan
import Glibc

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Parse and check plans; print every error as file:line:col: error: …",
        discussion: "Example: kiln validate images/*.yaml --json"
    )

    @Argument(help: "Plan files to check.")
    var plans: [String]

    @Option(help: "A directory wider than each plan's own that host paths may reach into.")
    var context: String?

    @Flag(help: "Also print one machine-readable result on stdout: {\"plans\": [{\"file\", \"ok\", \"errors\": [{\"message\", \"file\", \"line\", \"column\"}]}]}.")
    var json = false

    @Flag(help: "Make the warnings a plan alone gives (file:line:col: warning: …) errors, for CI. A build finds more (kiln build --strict).")
    var strict = false

    func validate() throws {
        if plans.isEmpty { throw ValidationError("name at least one plan file") }
    }

    func run() throws {
        let loader = PlanLoader(environment: ProcessEnvironment.current, context: context)
        var failed = 0
        var errorCount = 0
        var results: [JSONValue] = []
        for file in plans {
            do {
                let warnings = try loader.load(file: file).warnings
                let warningObjects = JSONValue.array(warnings.map { JSONFailure.object(.init(message: $0.message, location: $0.location, layer: $0.layer)) })
                if strict, !warnings.isEmpty {
                    failed += 1
                    errorCount += warnings.count
                    Terminal.line(StrictWarnings(warnings).description)
                    results.append(.object(["file": .string(file), "ok": .bool(false), "errors": warningObjects, "warnings": .array([])]))
                    continue
                }
                for warning in warnings { Terminal.line(warning.description) }
                Terminal.line("\(file): ok")
                results.append(.object(["file": .string(file), "ok": .bool(true), "errors": .array([]), "warnings": warningObjects]))
            } catch {
                failed += 1
                errorCount += error.errors.count
                for problem in error.errors { Terminal.line(problem.description) }
                results.append(.object([
                    "file": .string(file), "ok": .bool(false),
                    "errors": .array(error.errors.map { JSONFailure.object(.init(message: $0.message, location: $0.location)) }),
                    "warnings": .array([]),
                ]))
            }
        }
        if json, let bytes = try? CanonicalJSONEncoder.serialize(.object(["plans": .array(results)])) {
            FileHandleWriter.stdout.write(String(decoding: bytes, as: UTF8.self) + "\n")
        }
        if failed > 0 {
            let plansWord = plans.count == 1 ? "plan" : "plans"
            let errorsWord = errorCount == 1 ? "error" : "errors"
            throw CommandFailure(code: 1, message: "kiln: \(errorCount) \(errorsWord) in \(failed) of \(plans.count) \(plansWord)")
        }
    }
}

/// The process environment as a dictionary.
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}
