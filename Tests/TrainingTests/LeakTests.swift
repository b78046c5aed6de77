import Autodiff
import Foundation
import TestSupport
import Training
import XCTest

/// No graph outlives a training step: `liveVariables` (Sources/Autodiff/Variable.swift) is back where it
/// started after whole epochs of Trainer steps (forward, the estimator's surrogate and auxiliary losses,
/// backward, both optimizers, evaluation, checkpoint). RELAX is the hard case: its auxiliary loss is the
/// variance of its own gradient estimate, so every step differentiates a gradient (double backprop
/// through the control variate, recorded with createGraph: true) and updates the control variate's
/// parameters with a second Adam. GraphTests checks the same counter on bare graphs.
final class LeakTests: XCTestCase {
    /// Trains one epoch (2 steps) as a warm-up, so what is built once per run is not counted, then
    /// checks that further epochs leave the live-node count unchanged and that the estimator's own
    /// parameters moved (its auxiliary loss was really differentiated and applied).
    func assertTrainingLeaksNothing(estimator: String, latent: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = TestRuns.configText(name: nil, trainLimit: 100, testLimit: 50, hidden: 16, latent: latent, estimator: estimator,
                                       training: #"{"epochs": 4, "batch_size": 50, "seed": 3}"#)
        let trainer = try Trainer(config: try TestRuns.config(text), directory: temporaryDirectory(), log: { _ in })
        _ = try trainer.trainEpochForTesting()
        let before = trainer.estimator.parameters.map { $0.value }
        XCTAssertFalse(before.isEmpty, "\(estimator) has parameters of its own", file: file, line: line)
        try assertNoLeak("\(estimator) on \(latent)", file: file, line: line) { _ = try trainer.trainEpochForTesting() }
        XCTAssertNotEqual(trainer.estimator.parameters.map { $0.value }, before, "the auxiliary optimizer stepped", file: file, line: line)
    }

    func testRELAXTrainingStepsFreeTheirGraphs() throws {
        for latent in [#"{"family": "bernoulli", "variables": 8}"#, #"{"shape": "4x4"}"#] {
            try assertTrainingLeaksNothing(estimator: #"{"name": "relax", "hidden": 16}"#, latent: latent)
        }
    }

    /// REBAR (double backprop for its η and temperature) and NVIL (a baseline network) on the same check.
    func testOtherEstimatorsWithParametersFreeTheirGraphs() throws {
        try assertTrainingLeaksNothing(estimator: #"{"name": "rebar"}"#, latent: #"{"family": "bernoulli", "variables": 8}"#)
        try assertTrainingLeaksNothing(estimator: #"{"name": "nvil"}"#, latent: #"{"shape": "4x4"}"#)
    }
}
