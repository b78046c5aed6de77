// Second-order checks (the gradgradcheck construction, see checkSecondOrder) for every differentiable
// op: the backward rules are differentiated w.r.t. the inputs and w.r.t. the upstream gradient.
// Linear and piecewise-linear ops still run: their double backward must be consistent and zero.
import Autodiff
import XCTest

final class SecondOrderTests: XCTestCase {
    func testAdd() { assertSecondOrder(OpCases.add) }
    func testSub() { assertSecondOrder(OpCases.sub) }
    func testMul() { assertSecondOrder(OpCases.mul) }
    func testDiv() { assertSecondOrder(OpCases.div) }
    func testNeg() { assertSecondOrder(OpCases.neg) }
    func testExp() { assertSecondOrder(OpCases.exp) }
    func testLog() { assertSecondOrder(OpCases.log) }
    func testLog1p() { assertSecondOrder(OpCases.log1p) }
    func testSigmoid() { assertSecondOrder(OpCases.sigmoid) }
    func testTanh() { assertSecondOrder(OpCases.tanh) }
    func testSoftplus() { assertSecondOrder(OpCases.softplus) }
    func testLogSigmoid() { assertSecondOrder(OpCases.logSigmoid) }
    func testRelu() { assertSecondOrder(OpCases.relu) }
    func testLeakyRelu() { assertSecondOrder(OpCases.leakyRelu) }
    func testSquare() { assertSecondOrder(OpCases.square) }
    func testSqrt() { assertSecondOrder(OpCases.sqrt) }
    func testAbs() { assertSecondOrder(OpCases.abs) }
    func testPow() { assertSecondOrder(OpCases.pow) }
    func testReshaped() { assertSecondOrder(OpCases.reshaped) }
    func testExpanded() { assertSecondOrder(OpCases.expanded) }
    func testSummed() { assertSecondOrder(OpCases.summed) }
    func testTransposed() { assertSecondOrder(OpCases.transposed) }
    func testSum() { assertSecondOrder(OpCases.sum) }
    func testMean() { assertSecondOrder(OpCases.mean) }
    func testSumAlongAxis() { assertSecondOrder(OpCases.sumAlongAxis) }
    func testMeanAlongAxis() { assertSecondOrder(OpCases.meanAlongAxis) }
    func testLogSoftmax() { assertSecondOrder(OpCases.logSoftmax) }
    func testSoftmax() { assertSecondOrder(OpCases.softmax) }
    func testLogSumExp() { assertSecondOrder(OpCases.logSumExp) }
    func testMatmul() { assertSecondOrder(OpCases.matmul) }
    func testAffine() { assertSecondOrder(OpCases.affine) }
    func testSparseProducts() { assertSecondOrder(OpCases.sparse) }
    // softmaxMixture has no finite-difference second-order check: its value (and so its first derivative)
    // does not move with x — the shift z − x is detached — so numeric second differences are 0 while the
    // autodiff answer is the curvature of softmax at the shifted points, as for the unfused graph.
    // EstimatorsTests.STFamilyTests.testSoftmaxMixtureEqualsTheUnfusedGraph checks the two agree.
    func testSigmoidCrossEntropy() { assertSecondOrder(OpCases.sigmoidCrossEntropy) }
    func testSigmoidCrossEntropyGradient() { assertSecondOrder(OpCases.sigmoidCrossEntropyGradient) }
    func testSigmoidCurvature() { assertSecondOrder(OpCases.sigmoidCurvature) }
    func testSelect() { assertSecondOrder(OpCases.select) }
    func testRows() { assertSecondOrder(OpCases.rows) }
    func testConditionalLogistic() { assertSecondOrder(OpCases.conditionalLogistic) }
    func testBernoulliKL() { assertSecondOrder(OpCases.bernoulliKL) }
    func testGathered() { assertSecondOrder(OpCases.gathered) }
    func testScattered() { assertSecondOrder(OpCases.scattered) }
    func testStraightThrough() { assertSecondOrder(OpCases.straightThrough) }
    func testOneHot() { assertSecondOrder(OpCases.oneHot) }
    func testComposite() { assertSecondOrder(OpCases.composite) }

    /// detached() at second order: the backward w.r.t. the upstream must be u ⊙ x. W.r.t. x the
    /// recorded backward treats detached(x) as a constant (zero), while finite differences of the
    /// recomputed gradient see x move, so only the upstream half of the construction is meaningful.
    func testDetached() {
        let c = OpCases.detached[0]
        let results = checkSecondOrder(op: c.op, inputs: c.inputs, expect: .zero, label: c.label)
        assertPassed(results.filter { $0.label.hasSuffix("upstream") })
        let x = Variable(c.inputs[0], requiresGradient: true)
        let g = gradients(of: (x * x.detached()).sum(), wrt: [x], createGraph: true)[0]
        XCTAssertEqual(gradients(of: g.sum(), wrt: [x])[0].value, Tensor(zeros: [3, 4]))
    }
}
