// First-order gradient checks (directional central differences, Float64) for every differentiable op.
// One test per op; each runs all of that op's cases from OpCases (shapes, broadcasting, axes).
import Autodiff
import XCTest

final class FirstOrderTests: XCTestCase {
    func testAdd() { assertFirstOrder(OpCases.add) }
    func testSub() { assertFirstOrder(OpCases.sub) }
    func testMul() { assertFirstOrder(OpCases.mul) }
    func testDiv() { assertFirstOrder(OpCases.div) }
    func testNeg() { assertFirstOrder(OpCases.neg) }
    func testExp() { assertFirstOrder(OpCases.exp) }
    func testLog() { assertFirstOrder(OpCases.log) }
    func testLog1p() { assertFirstOrder(OpCases.log1p) }
    func testSigmoid() { assertFirstOrder(OpCases.sigmoid) }
    func testTanh() { assertFirstOrder(OpCases.tanh) }
    func testSoftplus() { assertFirstOrder(OpCases.softplus) }
    func testLogSigmoid() { assertFirstOrder(OpCases.logSigmoid) }
    func testRelu() { assertFirstOrder(OpCases.relu) }
    func testLeakyRelu() { assertFirstOrder(OpCases.leakyRelu) }
    func testSquare() { assertFirstOrder(OpCases.square) }
    func testSqrt() { assertFirstOrder(OpCases.sqrt) }
    func testAbs() { assertFirstOrder(OpCases.abs) }
    func testPow() { assertFirstOrder(OpCases.pow) }
    func testReshaped() { assertFirstOrder(OpCases.reshaped) }
    func testExpanded() { assertFirstOrder(OpCases.expanded) }
    func testSummed() { assertFirstOrder(OpCases.summed) }
    func testTransposed() { assertFirstOrder(OpCases.transposed) }
    func testSum() { assertFirstOrder(OpCases.sum) }
    func testMean() { assertFirstOrder(OpCases.mean) }
    func testSumAlongAxis() { assertFirstOrder(OpCases.sumAlongAxis) }
    func testMeanAlongAxis() { assertFirstOrder(OpCases.meanAlongAxis) }
    func testLogSoftmax() { assertFirstOrder(OpCases.logSoftmax) }
    func testSoftmax() { assertFirstOrder(OpCases.softmax) }
    func testLogSumExp() { assertFirstOrder(OpCases.logSumExp) }
    func testMatmul() { assertFirstOrder(OpCases.matmul) }
    func testAffine() { assertFirstOrder(OpCases.affine) }
    func testSparseProducts() { assertFirstOrder(OpCases.sparse) }
    func testSoftmaxMixture() { assertFirstOrder(OpCases.softmaxMixture) }
    func testSigmoidCrossEntropy() { assertFirstOrder(OpCases.sigmoidCrossEntropy) }
    func testSigmoidCrossEntropyGradient() { assertFirstOrder(OpCases.sigmoidCrossEntropyGradient) }
    func testSigmoidCurvature() { assertFirstOrder(OpCases.sigmoidCurvature) }
    func testSelect() { assertFirstOrder(OpCases.select) }
    func testRows() { assertFirstOrder(OpCases.rows) }
    func testConditionalLogistic() { assertFirstOrder(OpCases.conditionalLogistic) }
    func testBernoulliKL() { assertFirstOrder(OpCases.bernoulliKL) }
    func testGathered() { assertFirstOrder(OpCases.gathered) }
    func testScattered() { assertFirstOrder(OpCases.scattered) }
    func testStraightThrough() { assertFirstOrder(OpCases.straightThrough) }
    func testOneHot() { assertFirstOrder(OpCases.oneHot) }
    func testComposite() { assertFirstOrder(OpCases.composite) }

    /// Gradients stop at detached(): d/dx (x · detached(x)) = x, not 2x.
    func testDetached() {
        var rng = RandomStream(seed: 11)
        let x0 = randomTensor([3, 4], OpCases.nonzero, &rng)
        let x = Variable(x0, requiresGradient: true)
        let detachedCopy = x.detached()
        XCTAssertFalse(detachedCopy.requiresGradient)
        XCTAssertTrue(detachedCopy.inputs.isEmpty)
        XCTAssertEqual(detachedCopy.value, x0)
        let g = gradients(of: (x * detachedCopy).sum(), wrt: [x])[0].value
        XCTAssertEqual(g, x0)
        // The same through the checker: finite differences of x · c with c = x0 held fixed.
        assertGradients(op: { $0[0] * $0[0].detached() }, inputs: [x0], reference: { $0[0] * Variable(x0) },
                        label: "x * detached(x)")
        // ... and the full-derivative reference (2x) is rejected.
        XCTAssertFalse(checkGradients(op: { $0[0] * $0[0].detached() }, inputs: [x0]).allSatisfy(\.passed))
    }

    /// oneHot is a constant: no graph, and a loss built only from it has zero gradient.
    func testOneHotIsConstant() {
        let x = Variable(Tensor<Double>(ones: [3, 5]), requiresGradient: true)
        let hot = Variable<Double>.oneHot(indices: OpCases.rowIndices, classes: 5)
        XCTAssertFalse(hot.requiresGradient)
        XCTAssertTrue(hot.inputs.isEmpty)
        let g = gradients(of: (hot * 3).sum(), wrt: [x])[0]
        XCTAssertEqual(g.value, Tensor(zeros: [3, 5]))
        assertGradients(op: { _ in hot }, inputs: [x.value], expectNonzero: false, label: "oneHot alone")
    }
}
