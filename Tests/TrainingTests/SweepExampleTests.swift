import Estimators
import Foundation
import TestSupport
import Training
import XCTest

/// configs/sweep_example.json, the sweep the README shows: estimators of both families ×
/// temperatures × latent shapes, small enough to run in seconds on the embedded subset.
final class SweepExampleTests: XCTestCase {
    static let path = TestPaths.path("configs/sweep_example.json")

    func testSweepExampleMixesBothFamiliesTemperaturesAndShapes() throws {
        let plan = try Sweep.plan(configPath: Self.path)
        let estimators = Set(plan.runs.map(\.config.estimator.estimator))
        XCTAssertFalse(estimators.isDisjoint(with: ["st", "reinmax", "gs"]), "an ST-family estimator")
        XCTAssertFalse(estimators.isDisjoint(with: ["reinforce", "rloo"]), "a score-function estimator")
        let temperatures = Set(plan.runs.compactMap { $0.config.estimator.values["temperature"]?.description })
        XCTAssertGreaterThanOrEqual(temperatures.count, 2)
        XCTAssertGreaterThanOrEqual(Set(plan.runs.map(\.config.latent.spec.description)).count, 2)
        // Quick: the embedded subset, named explicitly, and a few short epochs.
        for run in plan.runs {
            XCTAssertEqual(run.config.data.directory, "data/embedded")
            XCTAssertLessThanOrEqual(run.config.training.epochs * (run.config.training.maxStepsPerEpoch ?? .max), 30)
        }
        // The README runs `--run-index 3`.
        XCTAssertGreaterThan(plan.runs.count, 3)
    }

    /// Two runs of it (one per family) train end to end; the summary lists every run.
    func testSweepExampleRuns() throws {
        let out = temporaryDirectory()
        let plan = try Sweep.plan(configPath: Self.path, overrides: ["data.directory=\(TestPaths.embeddedData)"],
                                  outputDirectory: out)
        let st = try XCTUnwrap(plan.runs.firstIndex { $0.config.estimator.estimator == "st" })
        let reinforce = try XCTUnwrap(plan.runs.firstIndex { $0.config.estimator.estimator == "reinforce" })
        try SweepRunner.runSequentially(plan, indices: [st, reinforce], resume: false, log: { _ in })
        let summary = try readCSV(out + "/summary.csv")
        XCTAssertEqual(summary.rows.count, plan.runs.count)
        let status = try XCTUnwrap(summary.header.firstIndex(of: "status"))
        XCTAssertEqual(summary.rows.filter { $0[status] == "finished" }.count, 2)
    }
}
