// The `vae-train` command line.
import ArgumentParser
import Estimators
import Foundation
import Training

@main
struct VAETrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae-train",
        abstract: "Train discrete-latent VAEs and compare gradient estimators.",
        usage: """
            vae-train [train] --config <config> [--set <key.path=value> ...] [--out <out>] [--list] [--run-index <run-index>] [--jobs <jobs>] [--resume] [--overwrite]
            vae-train <subcommand>
            """,
        discussion: trainingOptionsHelp,
        version: BuildInfo.version,
        subcommands: [Train.self, ListEstimators.self, BenchCommand.self, ToyCommand.self, PolyCommand.self, AnalyzeCommand.self,
                      ExportCommand.self, PictureCommand.self],
        defaultSubcommand: Train.self
    )

    /// The default command's options, so `vae-train --help` shows how to train: taken from `train`'s own
    /// generated help, so the two never disagree.
    static var trainingOptionsHelp: String {
        let lines = Train.helpMessage().split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("OPTIONS:") }) else { return "" }
        let options = lines[(start + 1)...].filter { line in
            !line.contains("--version") && !line.contains("--help") && !line.trimmingCharacters(in: .whitespaces).isEmpty
        }
        return "TRAINING OPTIONS (the default command, also `vae-train train`):\n"
            + options.joined(separator: "\n")
    }
}

/// Prints an error the way a user should see it and exits non-zero (no stack trace, no usage dump).
func fail(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(1)
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one run or a whole sweep from a JSON config (the default command).")

    @Option(help: "JSON config file (see configs/ and the README).")
    var config: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key, e.g. --set estimator.temperature=1.3 (repeatable). A list value makes it a sweep axis.", valueName: "key.path=value"))
    var overrides: [String] = []

    @Option(help: "Output folder for the sweep (default: <output.directory>/<config name>).")
    var out: String?

    @Flag(help: "Print the runs of the sweep and exit.")
    var list = false

    @Option(help: "Run only the run with this index (0-based), e.g. one job-array task.")
    var runIndex: Int?

    @Option(help: "Run this many runs in parallel as separate processes.")
    var jobs: Int = 1

    @Flag(help: "Continue from checkpoints; finished runs are skipped (the epoch count may be raised to extend runs).")
    var resume = false

    @Flag(help: "Replace runs whose folders hold a run with a different config (refused otherwise).")
    var overwrite = false

    @Flag(help: .hidden)
    var noSummary = false

    func run() throws {
        // Line-buffered stdout, so `vae-train ... > train.log` shows each epoch as it finishes.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            let plan = try Sweep.plan(configPath: config, overrides: overrides, outputDirectory: out)
            // Notes go to stderr: scripts parse the --list output on stdout.
            for note in plan.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            if list {
                print("\(plan.runs.count) run(s) in \(plan.directory):")
                for run in plan.runs { print("  [\(run.index)] \(run.listing(in: plan))") }
                return
            }
            if let runIndex {
                guard plan.runs.indices.contains(runIndex) else { throw TrainingError.runIndex(runIndex, count: plan.runs.count) }
                let run = plan.runs[runIndex]
                let trainer = try Trainer(config: run.config, directory: SweepRunner.directory(of: run, in: plan))
                try trainer.run(resume: resume, overwrite: overwrite)
                if !noSummary { try SweepRunner.writeSummary(plan) }
            } else if jobs > 1 {
                // Checked here with the user's flags, before any child starts (children always resume).
                try SweepRunner.checkRunFolders(plan, resume: resume, overwrite: overwrite)
                var arguments = ["train", "--config", config] + overrides.flatMap { ["--set", $0] }
                arguments += ["--out", plan.directory]
                if overwrite { arguments.append("--overwrite") }
                try SweepRunner.runInParallel(plan, jobs: jobs, executable: executablePath(), arguments: arguments)
            } else {
                try SweepRunner.runSequentially(plan, resume: resume, overwrite: overwrite)
            }
            if !noSummary { print("summary: \((plan.directory as NSString).appendingPathComponent("summary.csv"))") }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw fail(error)
        }
    }

    func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

struct ListEstimators: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "estimators",
        abstract: "List the available gradient estimators with each option's default and allowed values.")

    @Flag(help: "Print the list as JSON (registry order), for scripts.")
    var json = false

    func run() throws {
        print(json ? EstimatorListing.json : EstimatorListing.text)
    }
}
