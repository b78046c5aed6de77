import Foundation
import Training
import VAE
import XCTest

/// Runs the built `vae-train` (swift test builds it next to the test bundle) as a user would.
enum VAETrainBinary {
    static var url: URL? {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        candidates.append(TrainerTests.root.appendingPathComponent(".build/release"))
        return candidates.map { $0.appendingPathComponent("vae-train") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Exit status, stdout and stderr of `vae-train arguments` run in `directory`, without DISCRETEGRAD_DATA.
    static func run(_ arguments: [String], in directory: String) throws -> (status: Int32, out: String, err: String) {
        guard let url else { throw XCTSkip("vae-train is not built") }
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment[DatasetLoader.environmentVariable] = nil
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs, so neither can fill up and block it.
        var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

/// Exit status and combined stdout + stderr of a program run to completion (scripts, python3).
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, out: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Data: the set a config names, or a clear error; never a silent substitute (issue 11).
final class DataChoiceTests: XCTestCase {
    /// A scratch checkout whose data/embedded is the real subset and which has no full MNIST.
    func scratchCheckout() throws -> String {
        let path = NSTemporaryDirectory() + "dg-cli-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path + "/data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path + "/data/embedded",
                                                   withDestinationPath: TrainerTests.root.path + "/data/embedded")
        return path
    }

    func writeConfig(_ data: String, to path: String) throws {
        let text = """
        {"name": "d", "data": \(data), "model": {"encoder_hidden": [16], "decoder_hidden": [16]},
         "latent": {"shape": "4x4"}, "training": {"epochs": 1, "batch_size": 50}, "output": {"directory": "runs", "progress": "never"}}
        """
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

    func testTheEmbeddedSubsetIsUsedWhenTheConfigNamesIt() throws {
        let scratch = try scratchCheckout()
        try writeConfig(#"{"dataset": "mnist", "directory": "data/embedded", "train_limit": 100, "test_limit": 50}"#, to: scratch + "/c.json")
        let result = try VAETrainBinary.run(["--config", "c.json"], in: scratch)
        XCTAssertEqual(result.status, 0, result.out + result.err)
        let config = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: scratch + "/runs/d/run/config.json")))
        XCTAssertEqual(config.value(at: "provenance.train_data"), .string("data/embedded (100 examples)"))
    }

    func testQuickstartNamesTheEmbeddedSubset() throws {
        let plan = try Sweep.plan(configPath: TrainerTests.root.path + "/configs/quickstart.json")
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
