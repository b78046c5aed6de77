import Foundation
import TestSupport
import Training
import XCTest

/// A run folder holding a run with a different config is never overwritten (issue 11).
final class RunFolderTests: XCTestCase {
    func smallConfig(_ edit: (inout RunConfig) -> Void = { _ in }) throws -> RunConfig {
        var config = try TestRuns.config(TestRuns.tinyConfigText(name: "f"))
        edit(&config)
        return config
    }

    func contents(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func testADifferentConfigIsRefusedNamingTheKeysAndTheWaysOut() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try smallConfig(), directory: dir, log: { _ in }).run()
        let metrics = try contents(dir + "/metrics.csv"), config = try contents(dir + "/config.json")
        let other = try smallConfig { $0.training.learningRate = 0.01; $0.training.seed = 5 }
        for resume in [false, true] {
            XCTAssertThrowsError(try Trainer(config: other, directory: dir, log: { _ in }).run(resume: resume)) { error in
                let message = "\(error)"
                XCTAssertTrue(error is RunFolderError, message)
                for fragment in [dir, "different configuration", "training.learning_rate: 0.001 -> 0.01", "training.seed: 1 -> 5", "--out", "--overwrite"] {
                    XCTAssertTrue(message.contains(fragment), "'\(message)' should mention '\(fragment)'")
                }
                XCTAssertFalse(message.contains("--resume"), "only a larger epoch count can be resumed: \(message)")
            }
        }
        XCTAssertEqual(try contents(dir + "/metrics.csv"), metrics, "nothing was overwritten")
        XCTAssertEqual(try contents(dir + "/config.json"), config)
        // --overwrite replaces it.
        try Trainer(config: other, directory: dir, log: { _ in }).run(overwrite: true)
        let written = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/config.json")))
        XCTAssertEqual(written.value(at: "training.learning_rate"), .number(0.01))
        XCTAssertEqual(try readCSV(dir + "/metrics.csv").rows.count, 1)
    }

    func testOnlyMoreEpochsOffersResume() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try smallConfig(), directory: dir, log: { _ in }).run()
        let longer = try smallConfig { $0.training.epochs = 2 }
        XCTAssertThrowsError(try Trainer(config: longer, directory: dir, log: { _ in }).run()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("training.epochs: 1 -> 2") && message.contains("--resume"), message)
        }
        XCTAssertEqual(try Trainer(config: longer, directory: dir, log: { _ in }).run(resume: true).count, 2)
        // Fewer epochs than the run has done cannot be resumed.
        XCTAssertThrowsError(try Trainer(config: try smallConfig(), directory: dir, log: { _ in }).run(resume: true)) {
            XCTAssertFalse("\($0)".contains("--resume"), "\($0)")
        }
    }

    func testTheSameConfigMayRunAgainAndCosmeticKeysDoNotCount() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try smallConfig(), directory: dir, log: { _ in }).run()
        try Trainer(config: try smallConfig { $0.output.progress = .auto }, directory: dir, log: { _ in }).run()
        XCTAssertEqual(try readCSV(dir + "/metrics.csv").rows.count, 1)
    }

    func testAFolderWithoutAFinishedEpochHoldsNothingToKeep() throws {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // What a run stopped during its first epoch leaves: config.json only (and a --jobs train.log).
        try Data(try smallConfig { $0.training.seed = 9 }.json.serialized().utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        _ = FileManager.default.createFile(atPath: dir + "/train.log", contents: nil)
        XCTAssertEqual(try RunFolder.decide(directory: dir, config: try smallConfig(), resume: false, overwrite: false), .start)
    }

    func testACheckpointWithoutConfigJSONStillCounts() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try smallConfig(), directory: dir, log: { _ in }).run()
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        try FileManager.default.removeItem(atPath: dir + "/metrics.csv")
        XCTAssertThrowsError(try RunFolder.decide(directory: dir, config: try smallConfig { $0.training.seed = 2 },
                                                  resume: false, overwrite: false)) {
            XCTAssertTrue("\($0)".contains("training.seed"), "\($0)")
        }
    }

    /// A sweep checks every run's folder before training any run.
    func testASweepStartsNothingWhenAFolderConflicts() throws {
        let out = temporaryDirectory()
        let text = TestRuns.tinyConfigText(estimator: #"{"name": ["st", "gs"]}"#)
        let plan = try Sweep.plan(json: JSON.parse(Data(text.utf8)), outputDirectory: out)
        try SweepRunner.runSequentially(plan, indices: [1], resume: false, log: { _ in })
        let before = try contents(out + "/estimator-gs/metrics.csv")
        let changed = try Sweep.plan(json: JSON.parse(Data(text.utf8)), overrides: ["training.learning_rate=0.01"], outputDirectory: out)
        XCTAssertThrowsError(try SweepRunner.runSequentially(changed, resume: false, log: { _ in })) {
            XCTAssertTrue("\($0)".contains("estimator-gs") && "\($0)".contains("training.learning_rate"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/estimator-st/metrics.csv"), "run 0 did not start")
        XCTAssertEqual(try contents(out + "/estimator-gs/metrics.csv"), before)
        try SweepRunner.runSequentially(changed, resume: false, overwrite: true, log: { _ in })
        XCTAssertEqual(try readCSV(out + "/summary.csv").rows.map { $0[2] }, ["finished", "finished"])
    }
}
