import ArgumentParser
import KilnCore
import Plan
import Glibc

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Parse and check plans; print every error as file:line:col: error: …"
    )

    @Argument(help: "Plan files to check.")
    var plans: [String]

    @Option(help: "A directory wider than each plan's own that host paths may reach into.")
    var context: String?

    func validate() throws {
        if plans.isEmpty { throw ValidationError("name at least one plan file") }
    }

    func run() throws {
        let loader = PlanLoader(environment: ProcessEnvironment.current, context: context)
        var failed = 0
        var errorCount = 0
        for file in plans {
            do {
                _ = try loader.load(file: file)
                Terminal.line("\(file): ok")
            } catch {
                failed += 1
                errorCount += error.errors.count
                for problem in error.errors { Terminal.line(problem.description) }
            }
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
