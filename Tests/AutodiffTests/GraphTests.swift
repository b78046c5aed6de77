// gradients() semantics, recording switches, and freeing of finished graphs (no retain cycles).
import Autodiff
import TestSupport
import XCTest

final class GraphTests: XCTestCase {
    func makeInput(_ shape: [Int], seed: UInt64) -> Tensor<Double> {
        var rng = RandomStream(seed: seed)
        return randomTensor(shape, .uniform(-1, 1), &rng)
    }

    // MARK: Semantics

    func testUnreachableInputGetsZerosOfItsShape() {
        let x = Variable(makeInput([2, 3], seed: 1), requiresGradient: true)
        let unused = Variable(makeInput([4, 1, 5], seed: 2), requiresGradient: true)
        let constant = Variable(makeInput([3], seed: 3))
        let y = (x.exp() * constant).sum()
        let g = gradients(of: y, wrt: [x, unused, constant])
        XCTAssertEqual(g[1].value, Tensor(zeros: [4, 1, 5]))
        XCTAssertEqual(g[2].value, Tensor(zeros: [3]), "a constant (requiresGradient false) gets zeros")
        XCTAssertEqual(g[0].value, x.value.exp() * constant.value)
        // Output that depends on nothing differentiable at all.
        let g2 = gradients(of: constant.sum(), wrt: [x])
        XCTAssertEqual(g2[0].value, Tensor(zeros: [2, 3]))
    }

    func testInputUsedTwiceAccumulates() {
        let x0 = makeInput([3, 2], seed: 4)
        let x = Variable(x0, requiresGradient: true)
        XCTAssertEqual(gradients(of: (x * x).sum(), wrt: [x])[0].value, x0 * 2)
        // Through different paths (a diamond), and broadcast against itself.
        let g = gradients(of: (x.exp() + x.timesItself()).sum(), wrt: [x])[0].value
        // Two terms of different rounding order: ≤ a few ulps (2.2e-16 each) relative.
        for (a, b) in zip(g.scalars, (x0.exp() + x0 * 2).scalars) { XCTAssertEqual(a, b, accuracy: 1e-15 * Swift.abs(b)) }
        let row = Variable(makeInput([2], seed: 5), requiresGradient: true)
        let g2 = gradients(of: (row * row.reshaped([1, 2]).expanded(to: [3, 2])).sum(), wrt: [row])[0].value
        XCTAssertEqual(g2, row.value * 6)
        // The same Variable listed twice in wrt gets the full gradient both times.
        let both = gradients(of: (x * 3).sum(), wrt: [x, x])
        XCTAssertEqual(both[0].value, Tensor(repeating: 3, shape: [3, 2]))
        XCTAssertEqual(both[1].value, both[0].value)
    }

    func testCustomSeedIsTheUpstream() {
        let x0 = makeInput([2, 3], seed: 6), s0 = makeInput([2, 3], seed: 7)
        let x = Variable(x0, requiresGradient: true)
        let g = gradients(of: x * 3, wrt: [x], seed: Variable(s0))[0].value
        XCTAssertEqual(g, s0 * 3)
        // Default seed = ones = the gradient of sum(output).
        XCTAssertEqual(gradients(of: x.exp(), wrt: [x])[0].value, gradients(of: x.exp().sum(), wrt: [x])[0].value)
        // A seed on a reducing op: the upstream of a sum along an axis is broadcast back.
        let s1 = Tensor<Double>(shape: [2], scalars: [2, -1])
        XCTAssertEqual(gradients(of: x.sum(alongAxis: 1), wrt: [x], seed: Variable(s1))[0].value,
                       Tensor(shape: [2, 3], scalars: [2, 2, 2, -1, -1, -1]))
    }

    func testCreateGraphFalseReturnsConstants() {
        let x = Variable(makeInput([3, 4], seed: 8), requiresGradient: true)
        let w = Variable(makeInput([4, 2], seed: 9), requiresGradient: true)
        let loss = matmul(x, w).tanh().square().mean()
        let before = liveVariables
        let plain = gradients(of: loss, wrt: [x, w])
        for g in plain {
            XCTAssertFalse(g.requiresGradient)
            XCTAssertTrue(g.inputs.isEmpty, "no graph recorded behind a createGraph: false gradient")
        }
        // Nothing but the two results outlives the pass (lifetimes pinned against early release).
        withExtendedLifetime((x, w, loss, plain)) { XCTAssertEqual(liveVariables - before, 2) }
        // With createGraph the same values come back, now differentiable.
        let recorded = gradients(of: loss, wrt: [x, w], createGraph: true)
        for (a, b) in zip(plain, recorded) {
            XCTAssertTrue(b.requiresGradient)
            XCTAssertFalse(b.inputs.isEmpty)
            XCTAssertEqual(a.value, b.value)
        }
        // Recording was switched back on after the pass.
        XCTAssertTrue(GradientTape.isRecording)
        XCTAssertTrue((x * 2).requiresGradient)
    }

    func testWithoutGradientsProducesConstants() {
        let x = Variable(makeInput([2, 2], seed: 10), requiresGradient: true)
        let y = withoutGradients { () -> Variable<Double> in
            XCTAssertFalse(GradientTape.isRecording)
            return matmul(x, x).exp().logSoftmax().sum() + x.sum()
        }
        XCTAssertFalse(y.requiresGradient)
        XCTAssertTrue(y.inputs.isEmpty)
        XCTAssertTrue(GradientTape.isRecording, "recording resumes after the block")
        XCTAssertEqual(gradients(of: y, wrt: [x])[0].value, Tensor(zeros: [2, 2]))
        // Values are unaffected by the switch.
        XCTAssertEqual(y.value, (matmul(x, x).exp().logSoftmax().sum() + x.sum()).value)
        // Ops on constants only never record either.
        let c = Variable(makeInput([2], seed: 11))
        XCTAssertFalse(c.exp().requiresGradient)
    }

    func testGradientWithRespectToInteriorNode() {
        let x0 = makeInput([3], seed: 12)
        let x = Variable(x0, requiresGradient: true)
        let y = x * x
        let z = y.exp().sum()
        let g = gradients(of: z, wrt: [y, x])
        XCTAssertEqual(g[0].value, (x0 * x0).exp())
        XCTAssertEqual(g[1].value, (x0 * x0).exp() * x0 * 2)
        // The output itself as a target gets the seed.
        XCTAssertEqual(gradients(of: z, wrt: [z])[0].value, Tensor(1))
        // Interior node only.
        XCTAssertEqual(gradients(of: z, wrt: [y])[0].value, (x0 * x0).exp())
    }

    /// Double backward through a whole small model agrees with the checker's construction.
    func testDoubleBackwardOfLoss() {
        let c = OpCases.composite[0]
        assertSecondOrder(op: c.op, inputs: c.inputs, expect: .nonzero, label: c.label)
    }

    // MARK: Memory
    // assertNoLeak (TestSupport) reads liveVariables before and after; TrainingTests.LeakTests runs the
    // same check over whole training steps.

    /// A two-layer MLP's loss and its first-order gradients; everything goes out of scope on return.
    func mlpStep(createGraph: Bool) -> Double {
        var rng = RandomStream(seed: 13)
        let x = Variable(randomTensor([5, 4], .uniform(-1, 1), &rng))
        let w1 = Variable(randomTensor([4, 8], .uniform(-1, 1), &rng), requiresGradient: true)
        let b1 = Variable(randomTensor([8], .uniform(-1, 1), &rng), requiresGradient: true)
        let w2 = Variable(randomTensor([8, 3], .uniform(-1, 1), &rng), requiresGradient: true)
        let labels = Tensor<Double>(shape: [5], scalars: [0, 2, 1, 1, 0])
        let hidden = (matmul(x, w1) + b1).tanh()
        let logits = matmul(hidden, w2)
        let loss = -logits.logSoftmax().gathered(indices: labels).mean() + hidden.square().mean() * 0.1
        let params = [w1, b1, w2]
        let grads = gradients(of: loss, wrt: params, createGraph: createGraph)
        guard createGraph else { return grads.map { $0.value.sum().scalar }.reduce(0, +) }
        // Double backward: gradient of the squared gradient norm, seeded through a Variable upstream.
        let norm = grads.map { $0.square().sum() }.reduce(Variable(0), +)
        let upstream = Variable(Tensor<Double>(1), requiresGradient: true)
        let second = gradients(of: norm, wrt: params + [upstream], seed: upstream, createGraph: true)
        let third = gradients(of: second[0].sum(), wrt: [w1])
        return third[0].value.sum().scalar
    }

    func testFirstOrderGraphIsFreed() {
        assertNoLeak("first order") { _ = mlpStep(createGraph: false) }
    }

    func testDoubleBackwardGraphIsFreed() {
        assertNoLeak("double backward") { _ = mlpStep(createGraph: true) }
    }

    func testCheckersFreeTheirGraphs() {
        assertNoLeak("gradient checkers") {
            for c in OpCases.softmax + OpCases.matmul + OpCases.straightThrough {
                _ = checkGradients(op: c.op, inputs: c.inputs, reference: c.reference)
                _ = checkSecondOrder(op: c.op, inputs: c.inputs, expect: c.second)
            }
        }
    }

    /// The counter does see live graphs (so the leak tests are not vacuous).
    func testCounterTracksLiveGraph() {
        let before = liveVariables
        do {
            let x = Variable(Tensor<Double>(ones: [2]), requiresGradient: true)
            let y = x.exp().sum()
            // Explicit lifetimes: the optimiser may otherwise release a Variable right after its last use.
            withExtendedLifetime(y) { XCTAssertEqual(liveVariables - before, 3) }
            let g = gradients(of: y, wrt: [x], createGraph: true)
            withExtendedLifetime((x, y, g)) { XCTAssertGreaterThan(liveVariables - before, 3) }
        }
        XCTAssertEqual(liveVariables, before)
    }
}

private extension Variable where S == Double {
    /// x² written as a product, to give x two uses on two paths.
    func timesItself() -> Variable { self * self }
}
