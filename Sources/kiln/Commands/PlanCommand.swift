import ArgumentParser
import Kiln
import KilnCore
import Plan

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the normalized plan as canonical JSON: defaults filled, paths resolved, input digests.",
        discussion: "Example: kiln plan app.yaml | jq .layers"
    )

    @Argument(help: "The plan file.")
    var plan: String

    @Option(help: "A directory wider than the plan's own that host paths may reach into.")
    var context: String?

    func run() throws {
        let loaded: ImageBuildPlan
        do {
            loaded = try PlanLoader(environment: ProcessEnvironment.current, context: context).load(file: plan)
        } catch {
            for problem in error.errors { Terminal.line(problem.description) }
            throw CommandFailure(code: 1)
        }
        do {
            FileHandleWriter.stdout.write(String(decoding: try loaded.normalizedJSON(), as: UTF8.self))
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}
