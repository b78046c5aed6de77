import Foundation
import TestSupport
import Training
import XCTest

/// `output.steps_every`: steps.csv, one row every N optimizer steps, continued without duplicates or
/// gaps by a resumed run.
final class StepLogTests: XCTestCase {
    func config(epochs: Int, stepsEvery: Int = 3) throws -> RunConfig {
        var config = try ProgressTests.smallConfig()  // 8 steps an epoch
        config.training.epochs = epochs
        config.output.stepsEvery = stepsEvery
        return config
    }

    func testTheKeyIsValidated() throws {
        func decode(_ value: String) throws -> RunConfig {
            try RunConfig(json: JSON.parse(Data(#"{"output": {"steps_every": \#(value)}}"#.utf8)))
        }
        XCTAssertEqual(try decode("25").output.stepsEvery, 25)
        XCTAssertEqual(try RunConfig(json: JSON.parse(Data("{}".utf8))).output.stepsEvery, 0, "off by default")
        XCTAssertThrowsError(try decode("-1")) { error in
            XCTAssertEqual(error as? ConfigError, .invalidValue(path: "output.steps_every", value: "-1", requirement: "must be an integer >= 0"))
        }
        XCTAssertThrowsError(try decode("2.5"))
        XCTAssertThrowsError(try decode(#""often""#)) { error in
            guard case .wrongType(path: "output.steps_every", _, _)? = error as? ConfigError else { return XCTFail("\(error)") }
        }
    }

    func testRowsEveryNStepsWithTheBatchLoss() throws {
        let dir = temporaryDirectory()
        let trainer = try Trainer(config: try config(epochs: 2), directory: dir, log: { _ in })
        try trainer.run()
        let csv = try readCSV(trainer.stepsPath)
        XCTAssertEqual(csv.header, ["step", "epoch", "train_loss", "train_recon", "train_kl", "elapsed_seconds"])
        XCTAssertEqual(csv.rows.map { $0[0] }, ["3", "6", "9", "12", "15"])
        XCTAssertEqual(csv.rows.map { $0[1] }, ["1", "1", "2", "2", "2"])
        for row in csv.rows {
            let (loss, recon, kl) = (Double(row[2])!, Double(row[3])!, Double(row[4])!)
            // steps.csv writes each to 6 decimals (rounding ≤ 5e-7 each, 1.5e-6 for the three).
            XCTAssertEqual(loss, recon + kl, accuracy: 2e-6)
            XCTAssertGreaterThan(loss, 0)
        }
        XCTAssertEqual(csv.rows.filter { $0[1] == "2" }.count, 3)
        // The rows are the batches' own losses: with a row every step, their mean is the epoch's
        // train_loss (8 batches of 50, equal weights), up to the 6-decimal rounding of each row (≤ 5e-7).
        // This replaces "3 sampled rows within a bare 10% of the epoch mean", which a row of the wrong
        // batch, or a running mean, would also have passed.
        let everyStep = try Trainer(config: try config(epochs: 1, stepsEvery: 1), directory: temporaryDirectory(), log: { _ in })
        let epoch1 = try everyStep.run()[0].trainLoss
        let losses = try readCSV(everyStep.stepsPath).rows.map { Double($0[2])! }
        XCTAssertEqual(losses.count, 8)
        XCTAssertEqual(losses.reduce(0, +) / Double(losses.count), epoch1, accuracy: 5e-7 + 1e-12 * epoch1)
        XCTAssertGreaterThan(Set(losses).count, 1, "distinct batches, not one value repeated")
        // Off: no file.
        let off = temporaryDirectory()
        let quiet = try Trainer(config: try config(epochs: 1, stepsEvery: 0), directory: off, log: { _ in })
        try quiet.run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: quiet.stepsPath))
    }

    /// A run killed during epoch 2 (its rows of epoch 2 on disk, the checkpoint still at epoch 1) and
    /// resumed writes the same steps.csv as an uninterrupted run, timing column aside.
    func testAResumedRunContinuesTheFileWithoutDuplicatesOrGaps() throws {
        let whole = temporaryDirectory()
        let reference = try Trainer(config: try config(epochs: 3), directory: whole, log: { _ in })
        try reference.run()

        let dir = temporaryDirectory()
        let first = try Trainer(config: try config(epochs: 1), directory: dir, log: { _ in })
        try first.run()
        let saved = try Data(contentsOf: URL(fileURLWithPath: first.checkpointPath))
        let savedMetrics = try Data(contentsOf: URL(fileURLWithPath: first.metricsPath))
        try Trainer(config: try config(epochs: 2), directory: dir, log: { _ in }).run(resume: true)
        // The kill: epoch 2's checkpoint and metrics never written, and half a row at the end of steps.csv.
        try saved.write(to: URL(fileURLWithPath: first.checkpointPath))
        try savedMetrics.write(to: URL(fileURLWithPath: first.metricsPath))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: first.stepsPath))
        handle.seekToEndOfFile()
        handle.write(Data("18,3,101.2".utf8))
        try handle.close()

        try Trainer(config: try config(epochs: 3), directory: dir, log: { _ in }).run(resume: true)
        func withoutTiming(_ path: String) throws -> [[String]] { try readCSV(path).rows.map { Array($0.dropLast()) } }
        XCTAssertEqual(try withoutTiming(first.stepsPath), try withoutTiming(reference.stepsPath))
        XCTAssertEqual(try readCSV(first.stepsPath).rows.map { $0[0] }, ["3", "6", "9", "12", "15", "18", "21", "24"])
    }

    /// Logging can be switched on for a run in progress: it does not change what the run computes, so a
    /// checkpoint written without the key (or with another value) resumes.
    func testStepsEveryDoesNotBlockResuming() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try config(epochs: 1, stepsEvery: 0), directory: dir, log: { _ in }).run()
        let resumed = try Trainer(config: try config(epochs: 2, stepsEvery: 4), directory: dir, log: { _ in })
        try resumed.run(resume: true)
        XCTAssertEqual(resumed.epoch, 2)
        XCTAssertEqual(try readCSV(resumed.stepsPath).rows.map { $0[0] }, ["12", "16"])
        // A checkpoint from before the key existed: its config has no output.steps_every.
        var old = try config(epochs: 1, stepsEvery: 0).json
        guard case var .object(top) = old, case var .object(output)? = top["output"] else { return XCTFail() }
        output["steps_every"] = nil
        top["output"] = .object(output)
        old = .object(top)
        XCTAssertTrue(RunConfig.resumable(old.serialized(pretty: false), try config(epochs: 2, stepsEvery: 5).json))
    }
}
