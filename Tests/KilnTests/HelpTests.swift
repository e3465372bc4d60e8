import Testing
import TestSupport

/// Issue 20: `--help` of each subcommand shows one example of its use.
@Suite(.requires(.kilnBinary))
struct HelpTests {
    @Test(arguments: ["build", "validate", "plan", "diff", "inspect", "lock", "schema", "push", "pull", "export", "sbom", "cache"])
    func everySubcommandsHelpShowsAnExample(command: String) throws {
        let result = try Tools.kiln([command, "--help"])
        #expect(result.status == 0, "\(result.stderr)")
        let help = result.stdout + result.stderr
        #expect(help.contains("Example: kiln \(command) "), "\(help)")
    }

    /// Finding: shell completion existed but neither `--help` nor the
    /// README said so.
    @Test func theTopLevelHelpNamesTheCompletionScripts() throws {
        let result = try Tools.kiln(["--help"])
        #expect(result.status == 0)
        #expect((result.stdout + result.stderr).contains("kiln --generate-completion-script bash|zsh|fish"))
    }
}
