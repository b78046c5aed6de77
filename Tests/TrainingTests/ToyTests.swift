// A reduced, seeded RELAX toy (the paper's figure 1, qualitatively): with seed 4, RELAX drives θ below
// 0.1 within 6,000 steps (at step 5,100) while REINFORCE (no baseline) stays above 0.2. The full
// 10,000-step, 5-seed runs are `vae-train toy` (results/toy/): RELAX crosses 0.1 at 5,100–7,400 in 4 of
// 5 seeds (the fifth ends at 0.11); REINFORCE crosses once (seed 5, a random walk), REBAR never. The
// seed is chosen, not typical-case: this is a regression test of the seeded trajectory.
import Experiments
import Training
import XCTest

final class ToyTests: XCTestCase {
    func testRELAXDrivesThetaBelowTenPercentFasterThanREINFORCE() throws {
        var settings = ToySettings()
        settings.steps = 6000
        settings.logEvery = 100
        settings.varianceDraws = 0
        let relax = try Toy.run(estimator: "relax", seed: 4, settings: settings)
        let reinforce = try Toy.run(estimator: "reinforce", seed: 4, settings: settings)
        let relaxStep = try XCTUnwrap(relax.firstStepBelowTenPercent, "RELAX never reached θ < 0.1: final θ \(relax.points.last!.theta)")
        XCTAssertNil(reinforce.firstStepBelowTenPercent, "REINFORCE reached θ < 0.1 at \(reinforce.firstStepBelowTenPercent ?? -1)")
        XCTAssertLessThan(relaxStep, settings.steps)
        XCTAssertGreaterThan(reinforce.points.map(\.theta).min()!, 0.2)
    }

    func testExactLossAndControlVariateTable() throws {
        XCTAssertEqual(Toy.exactLoss(theta: 0, target: 0.499), 0.499 * 0.499, accuracy: 1e-15)  // a few Double ops on 0.25: ~1e-17
        var settings = ToySettings()
        settings.steps = 20
        settings.logEvery = 10
        settings.varianceDraws = 5
        let run = try Toy.run(estimator: "relax", seed: 3, settings: settings, snapshotSteps: [20])
        XCTAssertEqual(run.points.map(\.step), [0, 10, 20])
        XCTAssertEqual(run.controlVariateSnapshots.count, 1)
        let rows = Toy.controlVariateRows(run)
        XCTAssertEqual(rows.count, 161)
        XCTAssertEqual(Toy.curveRows(run).first?.count, Toy.curveColumns.count)
        XCTAssertEqual(rows.first?.count, Toy.controlVariateColumns.count)
    }
}
