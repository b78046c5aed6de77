import Foundation
import TestSupport
import Training
import XCTest

/// The live lines: a run's `epoch i/N`, whole-run ETA and what it is doing during evaluation; the
/// `--jobs` sweep line; and nothing at all when progress is off (logs stay clean).
final class ProgressTests: XCTestCase {
    /// TrainerTests' small run (8 steps an epoch) evaluated on 1000 examples: two evaluation batches of 500.
    static func smallConfig() throws -> RunConfig { try TestRuns.smallConfig(testLimit: 1000) }

    /// Collects what a progress line writes.
    final class Capture: @unchecked Sendable {
        var text = ""
        var sink: ProgressSink { { [self] in text += $0 } }
    }

    func testRunLineShowsEpochOfNTheRunETAAndTheEvaluationPhase() throws {
        var config = try Self.smallConfig()
        config.training.epochs = 2
        config.evaluation.iwaeSamples = 3
        config.evaluation.gradientVarianceEvery = 2
        config.output.progress = .always
        let capture = Capture()
        let trainer = try Trainer(config: config, directory: temporaryDirectory(), log: { _ in })
        trainer.progressSink = capture.sink
        try trainer.run()
        let text = capture.text
        XCTAssertTrue(text.contains("epoch 1/2  step 8/8"), text)
        XCTAssertTrue(text.contains("epoch 2/2  step 8/8"), text)
        XCTAssertTrue(text.contains("epoch 2/2  evaluating (ELBO + IWAE 3)… 2/2"), text)
        XCTAssertTrue(text.contains("measuring gradient variance"), text)
        XCTAssertTrue(text.contains("writing checkpoint"), text)
        XCTAssertTrue(text.contains("ETA "), text)
        // Every draw starts by returning to the line start and clearing it; the run ends with a cleared line.
        XCTAssertTrue(text.hasSuffix("\r\u{1B}[K"))
        XCTAssertFalse(text.contains("\n"), "the live line never scrolls")
    }

    func testTheETACoversTheWholeRunNotOnlyTheEpoch() {
        let progress = RunProgress(mode: .never, epochs: 10)
        progress.beginEpoch(1, steps: 100)
        // Double arithmetic on these small numbers is exact to ~1e-14 (1e-9 is slack for it); a wrong
        // formula is off by at least a second.
        // Epoch 1, 50 of 100 steps in 5 s, no finished epoch yet: 5 s left of it + 9 epochs of 10 s.
        XCTAssertEqual(progress.remainingSeconds(step: 50, elapsed: 5), 95, accuracy: 1e-9)
        // Epochs finished here took 14 s (10 s training + 4 s evaluating): those 4 s count for this epoch
        // too, and later epochs take 14 s each.
        progress.recordFinishedEpoch(total: 14, training: 10)
        progress.beginEpoch(2, steps: 100)
        XCTAssertEqual(progress.remainingSeconds(step: 50, elapsed: 5), 5 + 4 + 8 * 14, accuracy: 1e-9)
    }

    func testNothingIsWrittenWhenProgressIsOff() throws {
        let capture = Capture()
        let trainer = try Trainer(config: try Self.smallConfig(), directory: temporaryDirectory(), log: { _ in })
        trainer.progressSink = capture.sink
        try trainer.run()
        XCTAssertEqual(capture.text, "")
    }

    func testDurationsAreShort() {
        XCTAssertEqual(formatDuration(42), "42s")
        XCTAssertEqual(formatDuration(185), "3m05s")
        XCTAssertEqual(formatDuration(7620), "2h07m")
        XCTAssertEqual(formatDuration(.nan), "?")
    }

    /// `--jobs N`: a sweep line with runs done/total and failures, redrawn around each log line. The
    /// children here are shell one-liners (run index 1 fails), so only the bookkeeping is tested.
    func testSweepLineCountsDoneAndFailedRuns() throws {
        let out = temporaryDirectory()
        let json = try JSON.parse(Data(#"{"name": "p", "training": {"seed": [1, 2, 3]}}"#.utf8))
        let plan = try Sweep.plan(json: json, outputDirectory: out)
        let capture = Capture()
        var logged: [String] = []
        XCTAssertThrowsError(try SweepRunner.runInParallel(plan, jobs: 2, executable: "/bin/sh",
                                                           arguments: ["-c", #"[ "$1" != 1 ]"#],
                                                           progress: .always, sink: capture.sink, log: { logged.append($0) }))
        XCTAssertTrue(capture.text.contains("sweep: 3/3 runs done, 1 failed, 0 running"), capture.text)
        XCTAssertTrue(capture.text.contains("ETA "), capture.text)
        XCTAssertEqual(logged.filter { $0.contains("FAILED") }.count, 1)
        // Off (e.g. not a terminal): the log lines only.
        let quiet = Capture()
        XCTAssertThrowsError(try SweepRunner.runInParallel(plan, jobs: 2, executable: "/bin/sh", arguments: ["-c", #"[ "$1" != 1 ]"#],
                                                           progress: .never, sink: quiet.sink, log: { _ in }))
        XCTAssertEqual(quiet.text, "")
    }
}
