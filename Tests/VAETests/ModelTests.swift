// Latent-space math and the optimizers against brute force and hand computation. The closed forms are
// checked to 1e-10 to 1e-12 in Float64: they sum a handful of O(1) terms, rounding at ~1e-15, while a
// wrong term or factor is off by O(0.1) or more.
import Autodiff
import CKernels
import Foundation
import VAE
import XCTest

final class ModelTests: XCTestCase {
    func testShapeNamesRoundTripInThePapersClassesByVariablesOrder() {
        XCTAssertEqual(LatentSpec(shape: "4x24"), .categorical(24, 4))
        XCTAssertEqual(LatentSpec(shape: "8X4"), .categorical(4, 8))
        XCTAssertEqual(LatentSpec(shape: "200"), .bernoulli(200))
        for spec in [LatentSpec.categorical(30, 10), .categorical(8, 64)] { XCTAssertEqual(LatentSpec(shape: spec.description), spec) }
        for bad in ["", "4x", "x4", "4x24x2", "4by24", "0x3", "-2"] { XCTAssertNil(LatentSpec(shape: bad), bad) }
    }

    func testCategoricalKLMatchesBruteForce() {
        var rng = RandomStream(seed: 3)
        let spec = LatentSpec.categorical(3, 5)
        let logits = Tensor<Double>.gumbel([2, 3, 5], using: &rng) * 2
        let kl = spec.kl(logits: Variable(logits)).value
        let q = logits.softmax()
        for b in 0..<2 {
            var expected = 0.0
            for i in 0..<15 { let p = q[flat: b * 15 + i]; expected += p * Foundation.log(p * 5) }
            XCTAssertEqual(kl[flat: b], expected, accuracy: 1e-12)
        }
    }

    func testBernoulliKLMatchesBruteForceWithAndWithoutPrior() {
        let spec = LatentSpec.bernoulli(3)
        let a: [Double] = [-2, 0.3, 4], prior: [Double] = [0.5, -1, 2]
        let logits = Variable(Tensor<Double>(shape: [1, 3], scalars: a))
        func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
        func kl(_ q: Double, _ p: Double) -> Double { q * Foundation.log(q / p) + (1 - q) * Foundation.log((1 - q) / (1 - p)) }
        let flat = spec.kl(logits: logits).value.scalar
        XCTAssertEqual(flat, a.map { kl(sigmoid($0), 0.5) }.reduce(0, +), accuracy: 1e-12)
        let learned = spec.kl(logits: logits, priorLogits: Variable(Tensor(shape: [3], scalars: prior))).value.scalar
        XCTAssertEqual(learned, zip(a, prior).map { kl(sigmoid($0), sigmoid($1)) }.reduce(0, +), accuracy: 1e-12)
    }

    func testLogProbabilitiesNormalise() {
        // Σ over all codes of q(code) = 1, for both families.
        var rng = RandomStream(seed: 5)
        let cat = LatentSpec.categorical(2, 3)
        let logits = Variable(Tensor<Double>.gumbel([1, 2, 3], using: &rng))
        var total = 0.0
        for i in 0..<3 { for j in 0..<3 {
            var code = [Double](repeating: 0, count: 6); code[i] = 1; code[3 + j] = 1
            total += Foundation.exp(cat.logProbability(of: Tensor(shape: [1, 2, 3], scalars: code), logits: logits).value.scalar)
        } }
        XCTAssertEqual(total, 1, accuracy: 1e-12)
        let bern = LatentSpec.bernoulli(3)
        let a = Variable(Tensor<Double>(shape: [1, 3], scalars: [0.2, -3, 1.5]))
        total = 0
        for mask in 0..<8 {
            let code = (0..<3).map { Double((mask >> $0) & 1) }
            total += Foundation.exp(bern.logProbability(of: Tensor(shape: [1, 3], scalars: code), logits: a).value.scalar)
        }
        XCTAssertEqual(total, 1, accuracy: 1e-12)
    }

    func testBernoulliNLLIsStableAndCorrect() {
        let logits = Tensor<Double>(shape: [1, 4], scalars: [-100, -0.5, 0.7, 100])
        let x = Tensor<Double>(shape: [1, 4], scalars: [0, 1, 0.3, 1])
        let nll = bernoulliNLL(logits: Variable(logits), targets: x).value.scalar
        func term(_ l: Double, _ t: Double) -> Double {
            let p = 1 / (1 + Foundation.exp(-l))
            return -(t * Foundation.log(p) + (1 - t) * Foundation.log(1 - p))
        }
        let expected = term(-0.5, 1) + term(0.7, 0.3)  // the ±100 terms are ~0 (e^-100)
        XCTAssertEqual(nll, expected, accuracy: 1e-10)
        XCTAssertTrue(nll.isFinite)
    }

    func testModelShapesForBothFamiliesAndTheLinearModel() {
        var rng = RandomStream(seed: 1)
        let cat = DiscreteVAE<Float>(shape: ModelShape(encoderHidden: [32], decoderHidden: [16], latent: .categorical(4, 8)), rng: &rng)
        let x = Variable(Tensor<Float>.uniform([5, 784], using: &rng))
        XCTAssertEqual(cat.encode(x).shape, [5, 4, 8])
        XCTAssertEqual(cat.decode(Variable(Tensor<Float>(zeros: [5, 4, 8]))).shape, [5, 784])
        let linear = DiscreteVAE<Float>(shape: ModelShape(encoderHidden: [], decoderHidden: [], latent: .bernoulli(20), learnedPrior: true), rng: &rng)
        XCTAssertEqual(linear.encoder.layers.count, 1)
        XCTAssertEqual(linear.encode(x).shape, [5, 20])
        XCTAssertEqual(linear.parameters.count, 5, "two linear layers (weight, bias) and the prior logits")
        // Multi-sample objective: 3 stacked code batches against one input batch.
        let nll = linear.reconstructionNLL(code: Variable(Tensor<Float>(zeros: [15, 20])), x: x.value)
        XCTAssertEqual(nll.shape, [15])
        // The same zero code against the same x: equal but for Float rounding in the row's position (the
        // NLL is ~550 nats, so 1e-4 is ~2 ulps); pairing with another example is off by tens of nats.
        XCTAssertEqual(nll.value[flat: 0], nll.value[flat: 5], accuracy: 1e-4, "row r·B+b pairs with example b")
    }

    // MARK: - Optimizers (PyTorch's rules)

    func testAdamFirstStepMovesEachParameterByTheLearningRate() {
        // After one step m̂ = g and v̂ = g², so the update is lr·g/(|g| + ε) ≈ lr·sign(g), as in torch.optim.Adam.
        let p = Variable(Tensor<Double>(shape: [3], scalars: [1, 2, 3]), requiresGradient: true)
        let adam = Optimizer(kind: .adam, parameters: [p], learningRate: 0.1)
        adam.step([p], gradients: [Tensor(shape: [3], scalars: [0.5, -2, 1e-3])])
        let expected: [Double] = [1 - 0.1 * 0.5 / (0.5 + 1e-8), 2 + 0.1 * 2 / (2 + 1e-8), 3 - 0.1 * 1e-3 / (1e-3 + 1e-8)]
        for (a, b) in zip(p.value.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    func testAdamMatchesAHandComputedSecondStep() {
        let p = Variable(Tensor<Double>(shape: [1], scalars: [0]), requiresGradient: true)
        let adam = Optimizer(kind: .adam, parameters: [p], learningRate: 0.01)
        adam.step([p], gradients: [Tensor(shape: [1], scalars: [1])])
        adam.step([p], gradients: [Tensor(shape: [1], scalars: [3])])
        // m2 = 0.9·0.1 + 0.1·3 = 0.39, v2 = 0.999·0.001 + 0.001·9 = 0.009999; bias corrections 0.19 and 0.001999.
        let m2 = 0.39, v2 = 0.009999
        let second = 0.01 * (m2 / 0.19) / ((v2 / (1 - 0.999 * 0.999)).squareRoot() + 1e-8)
        XCTAssertEqual(p.value.scalar, -0.01 * (1 / (1 + 1e-8)) - second, accuracy: 1e-12)
    }

    func testRAdamIsMomentumSGDUntilTheVarianceIsTractableThenRectified() {
        let p = Variable(Tensor<Double>(shape: [1], scalars: [0]), requiresGradient: true)
        let radam = Optimizer(kind: .radam, parameters: [p], learningRate: 0.01)
        radam.step([p], gradients: [Tensor(shape: [1], scalars: [2])])
        // ρ₁ = ρ∞ − 2·β₂/(1−β₂) = 1 ≤ 5: plain bias-corrected momentum, Δ = −lr·m̂ = −0.02.
        XCTAssertEqual(p.value.scalar, -0.02, accuracy: 1e-12)
        for _ in 0..<9 { radam.step([p], gradients: [Tensor(shape: [1], scalars: [2])]) }
        // With a constant gradient after the warm-up the step is lr·r_t·g/|g|-like and strictly below lr.
        let before = p.value.scalar
        radam.step([p], gradients: [Tensor(shape: [1], scalars: [2])])
        let delta = before - p.value.scalar
        XCTAssertGreaterThan(delta, 0)
        XCTAssertLessThan(delta, 0.01)
    }

    /// The update kernels round each operation on its own (no fused multiply-add), so every code path
    /// (AVX-512F, AVX2, scalar) gives the same bits as the plain per-element formula, on SIMD tails too.
    func testAdamAndRAdamGiveTheSameBitsOnEveryKernelPath() {
        let automatic = String(cString: dg_kernel_isa())
        defer { _ = dg_kernel_use_isa(automatic) }
        var rng = RandomStream(seed: 11)
        let start = Tensor<Float>.uniform([1037], using: &rng) - 0.5
        let grads = (0..<7).map { _ in (Tensor<Float>.uniform([1037], using: &rng) - 0.5) * 0.1 }
        for kind in [OptimizerKind.adam, .radam] {
            // The reference: the published update written out per element in Swift.
            var p = start.scalars, m = [Float](repeating: 0, count: 1037), v = m
            for (t, g) in grads.enumerated() {
                let step = Float(t + 1), b1: Float = 0.9, b2: Float = 0.999, lr: Float = 1e-3, eps: Float = 1e-8
                let bias1 = 1 - Foundation.pow(b1, step), bias2 = 1 - Foundation.pow(b2, step)
                let rhoInf = 2 / (1 - b2) - 1
                let rho = rhoInf - 2 * step * Foundation.pow(b2, step) / bias2
                let rect = ((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho)).squareRoot()
                for i in 0..<1037 {
                    let gi = g[flat: i]
                    m[i] = b1 * m[i] + (1 - b1) * gi
                    v[i] = b2 * v[i] + (1 - b2) * gi * gi
                    if kind == .adam {
                        p[i] -= lr / bias1 * m[i] / (v[i].squareRoot() * (1 / bias2.squareRoot()) + eps)
                    } else if rho > 5 {
                        p[i] -= lr / bias1 * m[i] * (rect * bias2.squareRoot()) / (v[i].squareRoot() + eps)
                    } else {
                        p[i] -= lr / bias1 * m[i]
                    }
                }
            }
            var paths = 0
            for path in ["avx512f", "avx2", "scalar"] where dg_kernel_use_isa(path) == 1 {
                paths += 1
                let parameter = Variable(start, requiresGradient: true)
                let optimizer = Optimizer(kind: kind, parameters: [parameter], learningRate: 1e-3)
                for g in grads { optimizer.step([parameter], gradients: [g]) }
                XCTAssertEqual(parameter.value.scalars.map(\.bitPattern), p.map(\.bitPattern), "\(kind) on \(path)")
            }
            XCTAssertGreaterThanOrEqual(paths, 1)
        }
    }

    /// The optimizers report a NaN or infinite gradient (checked inside the update pass, which is how
    /// the trainer stops a run), wherever it sits: SIMD body or tail, every kernel path, every optimizer.
    func testOptimizersReportNonFiniteGradients() {
        let automatic = String(cString: dg_kernel_isa())
        defer { _ = dg_kernel_use_isa(automatic) }
        for path in ["avx512f", "avx2", "scalar"] where dg_kernel_use_isa(path) == 1 {
            for kind in OptimizerKind.allCases {
                for (position, bad) in [(0, Float.nan), (40, Float.infinity), (36, -Float.infinity)] {
                    let p = Variable(Tensor<Float>(zeros: [37 + 4]), requiresGradient: true)
                    let optimizer = Optimizer(kind: kind, parameters: [p], learningRate: 1e-3)
                    XCTAssertTrue(optimizer.step([p], gradients: [Tensor(repeating: 0.5, shape: [41])]), "\(kind) \(path)")
                    var g = Tensor<Float>(repeating: 0.5, shape: [41])
                    g.withUnsafeMutableBufferPointer { $0[position] = bad }
                    XCTAssertFalse(optimizer.step([p], gradients: [g]), "\(kind) on \(path): \(bad) at \(position)")
                }
            }
        }
    }

    func testGradientClippingScalesToTheMaximumNorm() {
        var grads = [Tensor<Double>(shape: [2], scalars: [3, 4])]
        let norm = clipGradientNorm(&grads, maxNorm: 1)
        XCTAssertEqual(norm, 5)
        // 3/5 and 4/5 in Double: exact to ~1e-16; a wrong norm (e.g. squared) is off by > 0.1.
        XCTAssertEqual(grads[0].scalars[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(grads[0].scalars[1], 0.8, accuracy: 1e-6)
    }
}
