import Foundation
import TestSupport
import Training
import VAE
import XCTest

/// Data: the set a config names, or a clear error; never a silent substitute (issue 11).
final class DataChoiceTests: XCTestCase {
    /// A scratch checkout whose data/embedded is the real subset and which has no full MNIST.
    func scratchCheckout() throws -> String {
        let path = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: path + "/data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path + "/data/embedded", withDestinationPath: TestPaths.embeddedData)
        return path
    }

    func writeConfig(_ data: String, to path: String) throws {
        let text = TestRuns.tinyConfigText(name: "d", data: data, output: #"{"directory": "runs", "progress": "never"}"#)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func testMNISTNotFoundIsAnErrorSayingWhereItLookedAndHowToGetIt() throws {
        let scratch = try scratchCheckout()
        try writeConfig(#"{"dataset": "mnist", "train_limit": 100, "test_limit": 50}"#, to: scratch + "/c.json")
        let result = try VAETrainBinary.run(["--config", "c.json"], in: scratch)
        XCTAssertEqual(result.status, 1, result.out + result.err)
        for fragment in ["data set 'mnist' not found", "data/mnist", "../shared/data/mnist", "make data", #"data.directory to "data/embedded""#] {
            XCTAssertTrue(result.err.contains(fragment), "'\(result.err)' should mention '\(fragment)'")
        }
        XCTAssertFalse(result.err.contains("  - data/embedded"), "the embedded subset is not searched: \(result.err)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/runs/d/run/metrics.csv"), "nothing trained")
    }

    /// `--jobs N` writes each run's output to its train.log; running the sweep again (here: extended by an epoch
    /// with --resume) appends to that log under a dated header instead of replacing the earlier session's.
    func testJobsAppendToEachRunsTrainLog() throws {
        let scratch = try scratchCheckout()
        let text = TestRuns.tinyConfigText(name: "j", data: #"{"dataset": "mnist", "directory": "data/embedded", "train_limit": 100, "test_limit": 50}"#,
                                           output: #"{"directory": "runs", "progress": "never"}"#)
        try Data(text.utf8).write(to: URL(fileURLWithPath: scratch + "/c.json"))
        let first = try VAETrainBinary.run(["--config", "c.json", "--set", "training.seed=[1,2]", "--jobs", "2"], in: scratch)
        XCTAssertEqual(first.status, 0, first.out + first.err)
        let log = scratch + "/runs/j/seed-1/train.log"
        let before = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(before.hasPrefix("== ") && before.contains("epoch 1/1"), before)
        let again = try VAETrainBinary.run(["--config", "c.json", "--set", "training.seed=[1,2]", "--set", "training.epochs=2",
                                            "--jobs", "2", "--resume"], in: scratch)
        XCTAssertEqual(again.status, 0, again.out + again.err)
        let after = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(after.hasPrefix(before), "the first session's log is kept")
        XCTAssertTrue(after.dropFirst(before.count).contains("epoch 2/2"), after)
        XCTAssertEqual(after.components(separatedBy: "\n== ").count, 2, "one header per session: \(after)")
    }

    func testTheEmbeddedSubsetIsUsedWhenTheConfigNamesIt() throws {
        let scratch = try scratchCheckout()
        try writeConfig(#"{"dataset": "mnist", "directory": "data/embedded", "train_limit": 100, "test_limit": 50}"#, to: scratch + "/c.json")
        let result = try VAETrainBinary.run(["--config", "c.json"], in: scratch)
        XCTAssertEqual(result.status, 0, result.out + result.err)
        let config = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: scratch + "/runs/d/run/config.json")))
        XCTAssertEqual(config.value(at: "provenance.train_data"), .string("data/embedded (100 examples)"))
    }

    func testQuickstartNamesTheEmbeddedSubset() throws {
        let plan = try Sweep.plan(configPath: TestPaths.path("configs/quickstart.json"))
        XCTAssertEqual(plan.runs[0].config.data.directory, DatasetLoader.embeddedDirectory)
        XCTAssertFalse(DatasetLoader.defaultSearchPaths(for: .mnist, environment: [:]).contains(DatasetLoader.embeddedDirectory))
    }
}

/// `vae-train --help` shows how to train, not only the subcommand list (issue 11).
final class HelpTests: XCTestCase {
    func testTopLevelHelpShowsTheTrainingOptions() throws {
        for arguments in [["--help"], ["-h"], ["help"]] {
            let result = try VAETrainBinary.run(arguments, in: NSTemporaryDirectory())
            XCTAssertEqual(result.status, 0, result.err)
            let help = result.out
            for option in ["--config <config>", "--set <key.path=value>", "--out <out>", "--jobs <jobs>", "--resume",
                           "--list", "--run-index <run-index>", "--overwrite"] {
                XCTAssertTrue(help.contains("\n  \(option)"), "`vae-train \(arguments[0])` should describe \(option):\n\(help)")
            }
            XCTAssertTrue(help.contains("SUBCOMMANDS:") && help.contains("estimators"), help)
            XCTAssertFalse(help.contains("no-summary"), "internal flags stay hidden")
        }
    }
}
