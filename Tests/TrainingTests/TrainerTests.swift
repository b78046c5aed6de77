import Autodiff
import Estimators
import Experiments
import Foundation
import TestSupport
import Training
import VAE
import XCTest

/// Small, fast runs on the committed MNIST subset: a tiny model, a few hundred examples.
final class TrainerTests: XCTestCase {
    func testShortRunImprovesTheELBOAndWritesItsFiles() throws {
        let dir = temporaryDirectory()
        let trainer = try Trainer(config: try TestRuns.smallConfig(), directory: dir, log: { _ in })
        let metrics = try trainer.run()
        XCTAssertEqual(metrics.count, 3)
        // Observed (seed 7): 518 -> 427 -> 315 nats. A broken gradient (zero, sign-flipped, decoder not
        // updated) leaves the loss flat or rising; 20 nats, a tenth of the observed drop, asks only for
        // clear learning and leaves room for a slightly different trajectory on another BLAS or CPU.
        XCTAssertLessThan(metrics[2].trainLoss, metrics[0].trainLoss - 20, "training -ELBO should drop clearly")
        XCTAssertLessThan(metrics[2].evalLoss!, metrics[0].evalLoss!, "evaluation -ELBO should improve")
        let csv = try readCSV(trainer.metricsPath)
        XCTAssertEqual(csv.header, EpochMetrics.columns)
        XCTAssertEqual(csv.rows.count, 3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: trainer.checkpointPath))
        let resolved = try JSON.parse(Data(contentsOf: URL(fileURLWithPath: trainer.configPath)))
        XCTAssertNotNil(resolved.value(at: "provenance.blas"))
        XCTAssertEqual(resolved.value(at: "training.seed"), .number(7))
    }

    func testGradientVarianceColumnIsLoggedWhenAsked() throws {
        let dir = temporaryDirectory()
        var config = try TestRuns.smallConfig()
        config.training.epochs = 2
        config.evaluation.gradientVarianceEvery = 2
        try Trainer(config: config, directory: dir, log: { _ in }).run()
        let csv = try readCSV(dir + "/metrics.csv")
        let column = try XCTUnwrap(csv.header.firstIndex(of: "grad_var"))
        XCTAssertEqual(csv.rows[0][column], "", "not due at epoch 1")
        XCTAssertGreaterThan(Double(csv.rows[1][column]) ?? -1, 0)
    }

    func testSameConfigAndSeedGiveTheSameCSV() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        try Trainer(config: try TestRuns.smallConfig(), directory: a, log: { _ in }).run()
        try Trainer(config: try TestRuns.smallConfig(), directory: b, log: { _ in }).run()
        XCTAssertEqual(try deterministicColumns(a + "/metrics.csv"), try deterministicColumns(b + "/metrics.csv"))
    }

    /// With two threads (BLAS, elementwise kernels, optimizer and the K-sample estimator all split
    /// work), a run is still reproducible: the paper-sized model, so the kernels really do split.
    func testTwoThreadRunsGiveTheSameCSV() throws {
        let text = """
        {"name": "t2", "data": \(TestRuns.embeddedData(trainLimit: 300, testLimit: 200)),
         "latent": {"shape": "4x24"}, "estimator": {"name": "gr-mc", "samples": 50, "temperature": 0.7},
         "training": {"epochs": 2, "batch_size": 100, "seed": 3, "threads": 2}, "output": {"progress": "never"}}
        """
        let config = try RunConfig(json: JSON.parse(Data(text.utf8)))
        let a = temporaryDirectory(), b = temporaryDirectory()
        try Trainer(config: config, directory: a, log: { _ in }).run()
        try Trainer(config: config, directory: b, log: { _ in }).run()
        XCTAssertEqual(try deterministicColumns(a + "/metrics.csv"), try deterministicColumns(b + "/metrics.csv"))
        BLASInfo.setThreads(1)
    }

    func testResumeContinuesIdentically() throws {
        let straight = temporaryDirectory(), interrupted = temporaryDirectory()
        try Trainer(config: try TestRuns.smallConfig(), directory: straight, log: { _ in }).run()
        // "Kill" after one epoch: a run configured for 3 epochs that stops after the first.
        var config = try TestRuns.smallConfig()
        let first = try Trainer(config: config, directory: interrupted, log: { _ in })
        config.training.epochs = 3
        _ = try first.trainEpochForTesting()
        let resumed = try Trainer(config: config, directory: interrupted, log: { _ in })
        try resumed.run(resume: true)
        XCTAssertEqual(try deterministicColumns(straight + "/metrics.csv"), try deterministicColumns(interrupted + "/metrics.csv"))
    }

    func testResumingAFinishedRunDoesNothing() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try TestRuns.smallConfig(), directory: dir, log: { _ in }).run()
        let before = try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8)
        let again = try Trainer(config: try TestRuns.smallConfig(), directory: dir, log: { _ in })
        XCTAssertEqual(try again.run(resume: true).count, 3)
        XCTAssertEqual(try String(contentsOfFile: dir + "/metrics.csv", encoding: .utf8), before)
    }

    func testResumeRefusesACheckpointFromAnotherConfig() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try TestRuns.smallConfig(), directory: dir, log: { _ in }).run()
        var other = try TestRuns.smallConfig()
        other.training.learningRate = 0.01
        XCTAssertThrowsError(try Trainer(config: other, directory: dir, log: { _ in }).run(resume: true)) {
            XCTAssertTrue("\($0)".contains("different configuration"))
        }
    }

    func testCorruptCheckpointIsAClearError() throws {
        let dir = temporaryDirectory()
        try Trainer(config: try TestRuns.smallConfig(), directory: dir, log: { _ in }).run()
        let path = dir + "/checkpoint.bin"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Trainer(config: try TestRuns.smallConfig(), directory: dir, log: { _ in }).run(resume: true)) {
            XCTAssertTrue("\($0)".contains("checkpoint"), "\($0)")
        }
    }

    func testNaNStopsTheRunNamingTheStepAndKeepsTheLog() throws {
        let dir = temporaryDirectory()
        var config = try TestRuns.smallConfig()
        config.training.epochs = 1
        try Trainer(config: config, directory: dir, log: { _ in }).run()
        // Continue for a second epoch on data that contains NaN pixels.
        config.training.epochs = 2
        let clean = try DatasetLoader.mnist(directory: TestPaths.embeddedData, split: .train, limit: 400)
        var pixels = clean.pixels
        for i in 0..<pixels.count where i % 997 == 0 { pixels[i] = .nan }
        let poisoned = Dataset(name: "poisoned", count: clean.count, dimension: clean.dimension, pixels: pixels, labels: nil)
        let test = try DatasetLoader.mnist(directory: TestPaths.embeddedData, split: .test, limit: 200)
        let trainer = try Trainer(config: config, directory: dir, datasets: (poisoned, test), log: { _ in })
        XCTAssertThrowsError(try trainer.run(resume: true)) { error in
            guard case let TrainingError.nonFinite(epoch, step, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(epoch, 2)
            XCTAssertEqual(step, 9, "8 steps in epoch 1, the first step of epoch 2 sees NaN")
            XCTAssertTrue("\(error)".contains("step 9"))
        }
        XCTAssertEqual(try readCSV(dir + "/metrics.csv").rows.count, 1, "the finished epoch's metrics are kept")
    }

    func testSweepSummaryHasOneRowPerRun() throws {
        let dir = temporaryDirectory()
        let text = TestRuns.tinyConfigText(name: "s", latent: #"{"variables": 2, "classes": 4}"#, estimator: #"{"name": ["st", "reinforce"]}"#)
        let plan = try Sweep.plan(json: JSON.parse(Data(text.utf8)), outputDirectory: dir)
        try SweepRunner.runSequentially(plan, resume: false, log: { _ in })
        let summary = try readCSV(dir + "/summary.csv")
        XCTAssertEqual(Array(summary.header.prefix(SweepRunner.summaryColumns.count)), SweepRunner.summaryColumns)
        XCTAssertEqual(summary.rows.count, 2)
        XCTAssertEqual(summary.rows.map { $0[3] }, ["st", "reinforce"])
        XCTAssertEqual(summary.rows.map { $0[2] }, ["finished", "finished"])
        // A missing run is reported, not dropped.
        try FileManager.default.removeItem(atPath: dir + "/" + plan.runs[1].id)
        try SweepRunner.writeSummary(plan)
        XCTAssertEqual(try readCSV(dir + "/summary.csv").rows[1][2], "missing")
    }

    func testMissingDataIsAClearError() throws {
        var config = try TestRuns.smallConfig()
        config.data.directory = "/nonexistent/mnist"
        XCTAssertThrowsError(try Trainer(config: config, directory: temporaryDirectory(), log: { _ in })) {
            XCTAssertTrue("\($0)".contains("/nonexistent/mnist"), "\($0)")
            XCTAssertTrue("\($0)".contains("make data"), "\($0)")
        }
    }
}

/// `vae-train bench` end to end on a tiny budget: it must produce a row per setting with sane fields
/// (speed itself is never asserted in unit tests).
final class BenchmarkTests: XCTestCase {
    func testBenchmarkProducesOneRowPerSettingRelativeToST() throws {
        let data = try DatasetLoader.mnist(directory: TestPaths.embeddedData, split: .train, limit: 800)
        let rows = try Benchmark.run(latents: [.categorical(4, 8)],
                                     estimators: [EstimatorOptions(estimator: "st"), EstimatorOptions(estimator: "reinmax"),
                                                  EstimatorOptions(estimator: "arm")],
                                     steps: 2, rounds: 1, data: (data, data), log: { _ in })
        XCTAssertEqual(rows.map { $0.estimator }, ["st", "reinmax"], "arm is Bernoulli-only and is skipped for a categorical latent")
        XCTAssertEqual(rows[0].relativeToST, 1)
        for row in rows {
            XCTAssertGreaterThan(row.millisecondsPerStep, 0)
            XCTAssertGreaterThan(row.gemmMillisecondsPerStep, 0)
            XCTAssertGreaterThan(row.optimizerMillisecondsPerStep, 0)
            XCTAssertEqual(row.latent, "8x4")
            // The profiled breakdown: every part measured, exclusive parts that add up to no more than a step.
            let b = row.breakdown
            XCTAssertGreaterThan(b.gemm, 0)
            XCTAssertGreaterThan(b.elementwise, 0)
            XCTAssertGreaterThan(b.optimizer, 0)
            XCTAssertGreaterThan(b.estimator, 0)
            XCTAssertGreaterThanOrEqual(b.other, 0)
            XCTAssertGreaterThan(b.allocations, 10, "a step allocates its activations and gradients")
        }
        XCTAssertFalse(Profile.enabled, "the profiler is off again after the benchmark")
    }

    /// `vae-train bench --sparse-densities`: one row per width and density, both timings measured.
    func testSparseVersusDenseTimesBothPathsPerWidthAndDensity() {
        let rows = Benchmark.sparseVersusDense(inputs: 50, widths: [40, 16], densities: [0.1, 0.5], batch: 10,
                                               rounds: 1, repeats: 2, log: { _ in })
        XCTAssertEqual(rows.map(\.width), [40, 40, 16, 16])
        XCTAssertEqual(rows.map(\.density), [0.1, 0.5, 0.1, 0.5])
        for row in rows {
            XCTAssertGreaterThan(row.denseMicroseconds, 0)
            XCTAssertGreaterThan(row.sparseMicroseconds, 0)
        }
    }

    func testGemmShapesCoverForwardAndBackwardProducts() {
        // 784-512-256-32 encoder (no input gradient for x) and 32-256-512-784 decoder (input gradient for z).
        let shapes = Benchmark.gemmShapes(ModelShape(latent: .categorical(4, 8)), batch: 100)
        // Encoder: 3 forward + 3 weight gradients + 2 input gradients (none for the data x);
        // decoder: 3 + 3 + 3 (the code z needs its gradient).
        XCTAssertEqual(shapes.count, 17)
        XCTAssertTrue(shapes.contains { $0 == (100, 512, 784) }, "first encoder forward: [100×784]·[784×512]")
        XCTAssertTrue(shapes.contains { $0 == (784, 512, 100) }, "its weight gradient xᵀ·g")
        XCTAssertTrue(shapes.contains { $0 == (100, 32, 256) }, "the decoder's input gradient g·Wᵀ into the code")
    }
}
