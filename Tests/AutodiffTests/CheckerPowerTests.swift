// The checkers must have power: deliberately wrong backward rules have to be reported as mismatches.
import Autodiff
import XCTest

final class CheckerPowerTests: XCTestCase {
    let x0: Tensor<Double> = {
        var rng = RandomStream(seed: 5)
        return randomTensor([3, 4], .uniform(-1, 1), &rng)
    }()

    /// Value exp(x), backward 2·exp(x): a factor-2 error in a rule.
    func testFirstOrderCatchesFactorTwo() {
        let wrong: DiffOp = { Variable.straightThrough(value: $0[0].value.exp(), surrogate: $0[0].exp() * 2) }
        let results = checkGradients(op: wrong, inputs: [x0], label: "2·exp backward")
        XCTAssertEqual(results.count, 1)
        XCTAssertFalse(results[0].passed, "checker accepted a factor-2 error: \(results[0])")
        // The analytic side is twice the numeric one, so the error is about half the magnitude. The ratio
        // is exact but for the central difference's own error, ~1e-10 relative (FiniteDifference).
        XCTAssertEqual(results[0].analytic / results[0].numeric, 2, accuracy: 1e-6)
        // Control: the correct op passes with the same inputs and seed.
        XCTAssertTrue(checkGradients(op: { $0[0].exp() }, inputs: [x0]).allSatisfy(\.passed))
    }

    /// A missing broadcast sum / wrong sign: value a − b whose gradient goes to b with the wrong sign.
    func testFirstOrderCatchesWrongSign() {
        var rng = RandomStream(seed: 6)
        let b0 = randomTensor([4], .uniform(-1, 1), &rng)
        let wrong: DiffOp = { Variable.straightThrough(value: ($0[0] - $0[1]).value, surrogate: $0[0] + $0[1]) }
        let results = checkGradients(op: wrong, inputs: [x0, b0])
        XCTAssertTrue(results[0].passed, "d/da is right: \(results[0])")
        XCTAssertFalse(results[1].passed, "d/db has the wrong sign: \(results[1])")
    }

    /// Value and first derivative exp(x) are right, but the backward uses a constant copy of exp(x),
    /// so the recorded backward has no second derivative. Only the second-order check can see this.
    func testSecondOrderCatchesNonDifferentiableBackward() {
        let wrong: DiffOp = { x in
            Variable.straightThrough(value: x[0].value.exp(), surrogate: x[0] * Variable(x[0].value.exp()))
        }
        XCTAssertTrue(checkGradients(op: wrong, inputs: [x0]).allSatisfy(\.passed), "first order is correct")
        let results = checkSecondOrder(op: wrong, inputs: [x0], expect: .nonzero)
        let input = results.first { $0.label.hasSuffix("input0") }!
        XCTAssertFalse(input.passed, "second-order checker accepted a detached backward: \(input)")
        XCTAssertEqual(input.analytic, 0)
        XCTAssertGreaterThan(Swift.abs(input.numeric), nontrivialThreshold)
        // Control: the real exp passes.
        XCTAssertTrue(checkSecondOrder(op: { $0[0].exp() }, inputs: [x0], expect: .nonzero).allSatisfy(\.passed))
    }

    /// A tiny directional derivative must not count as a pass when a nonzero one is expected.
    func testTrivialDerivativeIsRejected() {
        let flat: DiffOp = { $0[0] * 1e-9 }
        let results = checkGradients(op: flat, inputs: [x0])
        XCTAssertTrue(results[0].matches)
        XCTAssertFalse(results[0].passed)
    }
}
