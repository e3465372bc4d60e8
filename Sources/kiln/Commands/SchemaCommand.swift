import ArgumentParser
import KilnCore
import Plan

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the plan format's JSON Schema (also in schemas/kiln-plan.schema.json).",
        discussion: "Example: kiln schema > kiln-plan.schema.json"
    )

    func run() {
        FileHandleWriter.stdout.write(PlanSchema.json)
    }
}
