// The straight-through family (st, gs, st-gs, gr-mc, gst and the ReinMax variants): exact identities,
// shared kernels, the conditional Gumbel sampler, registry rules and numerical safety.
//
// Tolerances: identities are checked to 1e-12 to 1e-14 in Float64, where these O(10)-flop computations
// on O(1) values round at ~1e-15; each identity has a power check (a difference > 1e-3, or a gradient
// that must not vanish) that a wrong factor or term would move by many orders more.
import Autodiff
import Estimators
import Foundation
import TestSupport
import VAE
import XCTest

final class STFamilyTests: XCTestCase {
    // MARK: - Identities

    /// E_D[ST at τ = 1] = Σ_i Σ_j π_j g(e_j)ᵀ(e_i − e_j) ∂π_i/∂θ (forward Euler), exactly, K = 5, with a
    /// cubic f whose gradient depends on D. The `st` class is replayed to one D to show it builds the
    /// same surrogate. Power: the Euler form differs from the exact gradient by > 1e-3 here.
    func testSTExpectationIsEulerFormExactly() throws {
        let fixture = CubicFixture(seed: 31)
        let (k, objective, theta, pi) = (fixture.k, fixture.objective, fixture.theta, fixture.pi)
        var rng = fixture.rng
        let expectation = fixture.expectation { code, leaf in Variable.straightThrough(value: code, surrogate: leaf.softmax()) }
        let euler = CubicObjective.doubleSum(pi: pi, objective.rule(0))
        for m in 0..<k { XCTAssertEqual(expectation[m], euler[m], accuracy: 1e-12) }
        let exact = CubicObjective.doubleSum(pi: pi, objective.exactDelta)
        XCTAssertGreaterThan(zip(euler, exact).map { Swift.abs($0 - $1) }.max()!, 1e-3)

        // The estimator class: same gradient as the surrogate above for the D it drew.
        let latent = LatentSpec.categorical(1, k)
        let logits = theta.reshaped([1, 1, k])
        var replay = rng
        let code = latent.sample(logits: logits, rng: &replay)
        let (grad, _) = STFixtures.estimatorGradient(try STFixtures.make("st"), logits: logits, latent: latent, rng: &rng) {
            objective.graph($0.reshaped([1, k]))
        }
        let leaf = Variable(theta, requiresGradient: true)
        let manual = gradients(of: objective.graph(Variable.straightThrough(value: code.reshaped([1, k]), surrogate: leaf.softmax())).sum(), wrt: [leaf])[0].value
        XCTAssertLessThan(STFixtures.maxAbs(grad.reshaped([1, k]) - manual), 1e-12)
    }

    /// Gumbel-Rao with K = 1 equals ST-GS given the same D and noise: draw D, draw one conditional
    /// perturbation z (argmax z = D), and give ST-GS the noise G = z − θ. Exact up to rounding.
    func testGumbelRaoWithOneSampleEqualsSTGS() {
        var rng = RandomStream(seed: 41)
        let latent = LatentSpec.categorical(3, 6)
        let logits = STFixtures.uniform([5, 3, 6], -3, 3, &rng)
        let g = STFixtures.uniform([5, 3, 6], -1, 1, &rng)
        for tau in [0.5, 1.0, 2.0] {
            let code = latent.sample(logits: logits, rng: &rng)
            let perturbed = GumbelRao<Double>.conditionalPerturbations(of: logits, code: code, samples: 1, rng: &rng)
            let gr = GumbelRao<Double>(samples: 1, temperature: tau)
            let stgs = STGumbelSoftmax<Double>(temperature: tau)
            let grGrad = STFixtures.linearGradient(logits: logits, g: g) { gr.hardRelaxed(logits: $0, code: code, perturbed: perturbed) }
            var forward = Tensor<Double>(0)
            let stGrad = STFixtures.linearGradient(logits: logits, g: g) {
                let z = stgs.hardRelaxed(logits: $0, noise: perturbed - logits, family: .categorical)
                forward = z.value
                return z
            }
            XCTAssertEqual(forward, code, "ST-GS's argmax(θ + G) must be the conditioned D")
            XCTAssertLessThan(STFixtures.maxAbs(grGrad - stGrad), 1e-12, "τ = \(tau)")
            XCTAssertGreaterThan(STFixtures.maxAbs(stGrad), 1e-3)
        }
    }

    /// J(p)g sums to zero over classes, for the kernel and for every categorical estimator's logit
    /// gradient (each is a combination of softmax Jacobian products). A surrogate that leaked a
    /// non-Jacobian term (e.g. D itself, or an unnormalised midpoint) would fail.
    func testJacobianProductsSumToZero() throws {
        var rng = RandomStream(seed: 51)
        let p = STFixtures.uniform([4, 7], 0, 1, &rng).softmax()
        let g = STFixtures.uniform([4, 7], -5, 5, &rng)
        let jg = softmaxJacobianProduct(Variable(p), Variable(g)).value
        XCTAssertLessThan(STFixtures.maxAbs(jg.sum(alongAxis: -1)), 1e-13)
        XCTAssertGreaterThan(STFixtures.maxAbs(jg), 0.01)

        let latent = LatentSpec.categorical(3, 5)
        let logits = STFixtures.uniform([4, 3, 5], -4, 4, &rng)
        let w = STFixtures.uniform([4, 3, 5], -1, 1, &rng)
        for name in STFixtures.categoricalNames {
            let (grad, _) = STFixtures.estimatorGradient(try STFixtures.make(name), logits: logits, latent: latent, rng: &rng) {
                ($0 * Variable(w)).square().sum(alongAxis: -1).sum(alongAxis: -1)
            }
            XCTAssertLessThan(STFixtures.maxAbs(grad.sum(alongAxis: -1)), 1e-12, name)
            XCTAssertGreaterThan(STFixtures.maxAbs(grad), 1e-4, "\(name): gradient must not vanish")
        }
    }

    // MARK: - Conditional Gumbel sampler

    /// Every draw has argmax = the given class, including extreme (±50) logits and classes of
    /// probability ~e⁻¹⁰⁰.
    func testConditionalGumbelReproducesArgmax() {
        var rng = RandomStream(seed: 61)
        let logits = Tensor<Double>(shape: [3, 4], scalars: [50, -50, 0, -50,   -50, 50, 50, -50,   0, 1, 2, 3])
        for _ in 0..<200 {
            let code = STFixtures.randomCode([3, 4], &rng)
            let z = ConditionalGumbel.sample(logits: Variable(logits), code: code, rng: &rng).value
            XCTAssertTrue(z.isFinite)
            XCTAssertEqual(Tensor.oneHot(indices: z.argmax(), classes: 4), code)
        }
        // Float too: the sampler works in log space.
        let code = Tensor<Float>.oneHot(indices: Tensor(shape: [3], scalars: [1, 0, 0]), classes: 4)
        for _ in 0..<200 {
            let z = ConditionalGumbel.sample(logits: Variable(logits.converted(to: Float.self)), code: code, rng: &rng).value
            XCTAssertTrue(z.isFinite)
            XCTAssertEqual(Tensor.oneHot(indices: z.argmax(), classes: 4), code)
        }
    }

    /// The fused draws the Gumbel-Rao family uses (`conditionalGumbelDraws`, the draws inside
    /// `conditionalGumbelMixture`) keep the argmax at ±50 logits on every kernel path, in Double and in
    /// Float, and send a class ~e⁻¹⁰⁰ below its row's maximum to −∞ in Float instead of NaN.
    func testFusedConditionalDrawsKeepTheArgmax() {
        let logits = Tensor<Double>(shape: [3, 4], scalars: [50, -50, 0, -50,   -50, 50, 50, -50,   0, 1, 2, 3])
        var rng = RandomStream(seed: 62)
        onEveryKernelPath { path in
            for k in [1, 3, 50] {
                let code = STFixtures.randomCode([3, 4], &rng)
                let z = Variable<Double>.conditionalGumbelDraws(noiseLogits: logits, code: code, samples: k, rng: &rng)
                XCTAssertEqual(z.shape, [3 * k, 4])
                XCTAssertFalse(z.scalars.contains { $0.isNaN || $0 == .infinity }, path)
                XCTAssertEqual(Tensor.oneHot(indices: z.argmax(), classes: 4), Tensor.stacked(code, repeats: k), path)
            }
            let code = Tensor<Float>.oneHot(indices: Tensor(shape: [3], scalars: [1, 1, 0]), classes: 4)
            let z = Variable<Float>.conditionalGumbelDraws(noiseLogits: logits.converted(to: Float.self), code: code, samples: 50, rng: &rng)
            XCTAssertFalse(z.scalars.contains { $0.isNaN || $0 == .infinity }, path)
            XCTAssertTrue(z.scalars.contains { $0 == -.infinity }, "\(path): e^-100 classes underflow to −∞")
            XCTAssertEqual(Tensor.oneHot(indices: z.argmax(), classes: 4), Tensor.stacked(code, repeats: 50), path)
        }
    }

    /// The fused op (`conditionalGumbelMixture`, what gr-mc, reinmax-rao and reinmax-cv run) against
    /// `softmaxMixture` on the draws `conditionalPerturbations` returns from the same random state: value,
    /// gradient (the fused backward) and, when recording, the gradient's gradient, for τ = 1 (the
    /// reciprocal path) and τ ≠ 1, K below and above one 16-lane block, negative weights, noise logits
    /// that differ from x (as ReinMax-Rao's θ_D does), on every kernel path. Both sides compute the
    /// same draws; they differ only in how the softmax is rounded.
    func testFusedConditionalMixtureEqualsSoftmaxMixtureOnItsDraws() {
        var rng = RandomStream(seed: 64)
        let shape = [3, 2, 5]
        let x = Variable(STFixtures.uniform(shape, -2, 2, &rng), requiresGradient: true)
        let noiseLogits = STFixtures.uniform(shape, -3, 3, &rng)
        let g = Variable(STFixtures.uniform(shape, -1, 1, &rng))
        let v = Variable(STFixtures.uniform(shape, -1, 1, &rng))
        onEveryKernelPath { path in
            for (weights, tau) in [([0.25, 0.25, 0.25, -1], 1.0), ([Double](repeating: 1.0 / 20, count: 20), 0.7),
                                   ([0.5, -2, 1], 1.6)] {
                let code = STFixtures.randomCode(shape, &rng)
                var a = rng, b = rng
                let fused = x.conditionalGumbelMixture(noiseLogits: noiseLogits, code: code, weights: weights, temperature: tau, rng: &a)
                let z = GumbelRao<Double>.conditionalPerturbations(of: noiseLogits, code: code, samples: weights.count, rng: &b)
                XCTAssertEqual(a, b, "both consume the same random numbers")
                rng = a
                let reference = x.softmaxMixture(shifted: z, weights: weights, temperature: tau)
                let label = "\(path), K = \(weights.count), τ = \(tau)"
                XCTAssertLessThan(STFixtures.maxAbs(fused.value - reference.value), 1e-13, label)
                let gf = gradients(of: (fused * g).sum(), wrt: [x])[0].value
                let gr = gradients(of: (reference * g).sum(), wrt: [x])[0].value
                XCTAssertLessThan(STFixtures.maxAbs(gf - gr), 1e-13, label)
                XCTAssertGreaterThan(STFixtures.maxAbs(gr), 1e-3, label)
                let hf = gradients(of: (gradients(of: (fused * g).sum(), wrt: [x], createGraph: true)[0] * v).sum(), wrt: [x])[0].value
                let hr = gradients(of: (gradients(of: (reference * g).sum(), wrt: [x], createGraph: true)[0] * v).sum(), wrt: [x])[0].value
                XCTAssertLessThan(STFixtures.maxAbs(hf - hr), 1e-13, label)
                XCTAssertGreaterThan(STFixtures.maxAbs(hr), 1e-4, label)
            }
        }
        // Float: the same to single-precision rounding.
        let code = STFixtures.randomCode(shape, &rng).converted(to: Float.self)
        let xf = Variable(x.value.converted(to: Float.self), requiresGradient: true)
        var a = rng, b = rng
        let fused = xf.conditionalGumbelMixture(noiseLogits: noiseLogits.converted(to: Float.self), code: code,
                                                weights: [Float](repeating: 0.01, count: 100), temperature: 0.7, rng: &a)
        let z = GumbelRao<Float>.conditionalPerturbations(of: noiseLogits.converted(to: Float.self), code: code, samples: 100, rng: &b)
        let reference = xf.softmaxMixture(shifted: z, weights: [Float](repeating: 0.01, count: 100), temperature: 0.7)
        for (p, q) in zip(fused.value.scalars, reference.value.scalars) { XCTAssertEqual(p, q, accuracy: 1e-5) }
        let gf = gradients(of: (fused * Variable(g.value.converted(to: Float.self))).sum(), wrt: [xf])[0].value
        let gr = gradients(of: (reference * Variable(g.value.converted(to: Float.self))).sum(), wrt: [xf])[0].value
        for (p, q) in zip(gf.scalars, gr.scalars) { XCTAssertEqual(p, q, accuracy: 1e-5) }
    }

    /// The fused draws against rejection sampling (`assertMatchesRejectionSampling`), in Double and Float
    /// (whose uniforms come two per 64-bit word): θ + G given argmax = 1, 40000 draws as 200 rows × K = 200,
    /// so both the streams of different rows and the draws within a row are checked.
    func testFusedConditionalDrawsMatchRejectionSampling() {
        let theta: [Double] = [0.5, -0.3, 1.2, -1.0]
        let target = 1, rows = 200, k = 200, classes = theta.count
        var rng = RandomStream(seed: 72)
        let logits = Tensor(shape: [1, classes], scalars: theta).expanded(to: [rows, classes])
        let code = Tensor<Double>.oneHot(indices: Tensor(repeating: Double(target), shape: [rows]), classes: classes)
        let double = Variable<Double>.conditionalGumbelDraws(noiseLogits: logits, code: code, samples: k, rng: &rng).scalars
        assertMatchesRejectionSampling(double, theta: theta, target: target, rng: &rng, "Double")
        let float = Variable<Float>.conditionalGumbelDraws(noiseLogits: logits.converted(to: Float.self), code: code.converted(to: Float.self),
                                                           samples: k, rng: &rng).scalars.map(Double.init)
        assertMatchesRejectionSampling(float, theta: theta, target: target, rng: &rng, "Float")
    }

    /// The fused Rao average (`softmaxMixture`) against the graph it replaces (expand K times, add the
    /// detached shift, softmax, weighted sum): value and gradient without recording (the fused
    /// backward), and the gradient's own gradient when recording (double backprop through it).
    func testSoftmaxMixtureEqualsTheUnfusedGraph() {
        var rng = RandomStream(seed: 63)
        let shape = [3, 2, 5], k = 4
        let x = Variable(Tensor<Double>.uniform(shape, using: &rng) * 4 - 2, requiresGradient: true)
        let z = Tensor<Double>.uniform([k * 3, 2, 5], using: &rng) * 6 - 3
        let weights: [Double] = [0.25, 0.25, 0.25, -1], tau = 0.7
        let g = Variable(Tensor<Double>.uniform(shape, using: &rng) - 0.5)
        func unfused(_ x: Variable<Double>) -> Variable<Double> {
            let xK = x.reshaped([1] + shape).expanded(to: [k] + shape).reshaped([k * 3, 2, 5])
            let y = ((xK + Variable(z - xK.value)) / tau).softmax().reshaped([k] + shape)
            return (y * Variable(Tensor(shape: [k, 1, 1, 1], scalars: weights))).sum(alongAxis: 0)
        }
        let fused = x.softmaxMixture(shifted: z, weights: weights, temperature: tau)
        for (a, b) in zip(fused.value.scalars, unfused(x).value.scalars) { XCTAssertEqual(a, b, accuracy: 1e-14) }
        let gf = gradients(of: (fused * g).sum(), wrt: [x])[0].value
        let gu = gradients(of: (unfused(x) * g).sum(), wrt: [x])[0].value
        for (a, b) in zip(gf.scalars, gu.scalars) { XCTAssertEqual(a, b, accuracy: 1e-13) }
        XCTAssertGreaterThan(gu.scalars.map(Swift.abs).max()!, 1e-3)
        // Second order: differentiate ⟨v, ∇x⟩ again, fused vs unfused.
        let v = Variable(Tensor<Double>.uniform(shape, using: &rng) - 0.5)
        let hf = gradients(of: (gradients(of: (fused * g).sum(), wrt: [x], createGraph: true)[0] * v).sum(), wrt: [x])[0].value
        let hu = gradients(of: (gradients(of: (unfused(x) * g).sum(), wrt: [x], createGraph: true)[0] * v).sum(), wrt: [x])[0].value
        for (a, b) in zip(hf.scalars, hu.scalars) { XCTAssertEqual(a, b, accuracy: 1e-13) }
        XCTAssertGreaterThan(hu.scalars.map(Swift.abs).max()!, 1e-4)
    }

    /// The conditional sampler against rejection sampling (draw θ + G, keep argmax = D), N = 40000 each,
    /// per-coordinate mean and variance (`assertMatchesRejectionSampling`).
    func testConditionalGumbelMatchesRejectionSampling() {
        let theta: [Double] = [0.5, -0.3, 1.2, -1.0]
        let target = 1                 // π ≈ 0.14: rejection keeps ~1 in 7
        let n = 40000, k = theta.count
        var rng = RandomStream(seed: 71)
        let logits = Tensor(shape: [1, k], scalars: theta).expanded(to: [n, k])
        let code = Tensor<Double>.oneHot(indices: Tensor(repeating: Double(target), shape: [n]), classes: k)
        let conditional = ConditionalGumbel.sample(logits: Variable(logits), code: code, rng: &rng).value.scalars
        assertMatchesRejectionSampling(conditional, theta: theta, target: target, rng: &rng, "graph sampler")
    }

    /// `conditional` (draws of θ + G given argmax = target, flattened [N, C]) against N rejection samples:
    /// per-coordinate mean and variance within 5 standard errors of the difference, the SEs estimated from
    /// the samples (SE(mean) = s/√N; SE(var) = √((m₄ − s⁴)/N)); each bound fails a correct sampler with
    /// probability 5.7e-7. Negative control: the same comparison against *unconditioned* draws must fail
    /// by a wide margin, so the test has power.
    private func assertMatchesRejectionSampling(_ conditional: [Double], theta: [Double], target: Int, rng: inout RandomStream,
                                                _ label: String) {
        let k = theta.count, n = conditional.count / k
        var rejected: [Double] = [], unconditioned: [Double] = []
        while rejected.count < n * k {
            let z = (Tensor(shape: [1, k], scalars: theta) + Tensor<Double>.gumbel([1, k], using: &rng)).scalars
            if unconditioned.count < n * k { unconditioned += z }
            if z.indices.max(by: { z[$0] < z[$1] }) == target { rejected += z }
        }
        func moments(_ x: [Double], _ c: Int) -> (mean: Double, variance: Double, seMean: Double, seVariance: Double) {
            let m = SampleMoments(stride(from: c, to: x.count, by: k).map { x[$0] })
            return (m.mean, m.variance, m.standardErrorOfMean, m.standardErrorOfVariance)
        }
        var controlFailures = 0
        for c in 0..<k {
            let a = moments(conditional, c), b = moments(rejected, c), u = moments(unconditioned, c)
            let seMean = (a.seMean * a.seMean + b.seMean * b.seMean).squareRoot()
            let seVariance = (a.seVariance * a.seVariance + b.seVariance * b.seVariance).squareRoot()
            XCTAssertLessThan(Swift.abs(a.mean - b.mean), 5 * seMean, "\(label): mean of coordinate \(c)")
            XCTAssertLessThan(Swift.abs(a.variance - b.variance), 5 * seVariance, "\(label): variance of coordinate \(c)")
            if Swift.abs(a.mean - u.mean) > 5 * (a.seMean * a.seMean + u.seMean * u.seMean).squareRoot() { controlFailures += 1 }
        }
        XCTAssertGreaterThanOrEqual(controlFailures, 2, "\(label): negative control: conditioning must be detectable")
    }

    // MARK: - Gapped ST

    /// Hand-checked offsets: θ = (2, 1, 0, 1.8), D = e₂, gap 1: the sampled logit rises to 2 and the
    /// others drop to min(θ_j, 2 − 1) = 1, so θ' = (1, 1, 2, 1) and the surrogate is softmax(θ').
    /// Adaptive gap for π_D = e⁰/Σe^θ = 1/17.157 ≈ 0.0583: gap = −log(1 − π)/π ≈ 1.0303, so every
    /// θ'_j = min(θ_j, 2 − gap) = 0.9697 (θ₁ = 1 is now pushed down too).
    func testGappedSTOffsets() {
        let theta = Tensor<Double>(shape: [1, 4], scalars: [2, 1, 0, 1.8])
        let code = Tensor<Double>(shape: [1, 4], scalars: [0, 0, 1, 0])
        let fixed = GappedStraightThrough<Double>(gap: .fixed(1))
        var surrogate = Tensor<Double>(0)
        _ = STFixtures.linearGradient(logits: theta, g: code) { leaf in
            let z = fixed.hardRelaxed(logits: leaf, code: code)
            surrogate = z.value
            return z
        }
        XCTAssertEqual(surrogate, code)
        let expected = Tensor<Double>(shape: [1, 4], scalars: [1, 1, 2, 1]).softmax()
        // The surrogate's value is hidden behind straightThrough: compare its gradient with softmax(θ')'s.
        let g = Tensor<Double>(shape: [1, 4], scalars: [0.3, -1, 0.5, 2])
        let gst = STFixtures.linearGradient(logits: theta, g: g) { fixed.hardRelaxed(logits: $0, code: code) }
        let direct = softmaxJacobianProduct(Variable(expected), Variable(g)).value
        XCTAssertLessThan(STFixtures.maxAbs(gst - direct), 1e-12)

        let pi = Foundation.exp(0.0) / theta.exp().sum().scalar * (1 - 1e-5)
        let width = -Foundation.log1p(-pi) / pi
        XCTAssertEqual(width, 1.0303, accuracy: 1e-3)  // the hand value above, to its 4 decimals
        let adaptive = GappedStraightThrough<Double>(gap: .adaptive)
        let moved = Tensor<Double>(shape: [1, 4], scalars: [2 - width, 2 - width, 2, 2 - width]).softmax()
        let gstAdaptive = STFixtures.linearGradient(logits: theta, g: g) { adaptive.hardRelaxed(logits: $0, code: code) }
        XCTAssertLessThan(STFixtures.maxAbs(gstAdaptive - softmaxJacobianProduct(Variable(moved), Variable(g)).value), 1e-12)
    }

    // MARK: - Relaxed Gumbel-Softmax

    /// `gs` feeds the relaxed sample forward: rows on the simplex, not one-hot, and τ → small makes it
    /// nearly one-hot. Bernoulli: values strictly inside (0, 1).
    func testGumbelSoftmaxFeedsRelaxedSample() throws {
        var rng = RandomStream(seed: 81)
        let latent = LatentSpec.categorical(2, 5)
        let logits = STFixtures.uniform([50, 2, 5], -1, 1, &rng)
        var seen = Tensor<Double>(0)
        _ = try STFixtures.make("gs").estimate(EstimatorContext(logits: Variable(logits), latent: latent) { z in
            seen = z.value
            return z.sum(alongAxis: -1).sum(alongAxis: -1)
        }, rng: &rng)
        XCTAssertLessThan(STFixtures.maxAbs(seen.sum(alongAxis: -1) - 1), 1e-12)
        // The mean largest weight is ≈ 0.59 here at τ = 1 (1 for a one-hot forward) and ≈ 0.9988 at τ = 0.01
        // (a row's top weight is 1 − O(e^(−Δ/τ)) for a gap Δ between its top two perturbed logits);
        // 0.95 and 0.99 sit between, far from the other regime.
        XCTAssertLessThan(seen.max(alongAxis: -1).mean().scalar, 0.95, "τ = 1 samples are not one-hot")
        _ = try STFixtures.make("gs", ["temperature": .number(0.01)]).estimate(EstimatorContext(logits: Variable(logits), latent: latent) { z in
            seen = z.value
            return z.sum(alongAxis: -1).sum(alongAxis: -1)
        }, rng: &rng)
        XCTAssertGreaterThan(seen.max(alongAxis: -1).mean().scalar, 0.99, "τ = 0.01 samples are nearly one-hot")
        _ = try STFixtures.make("gs", family: .bernoulli).estimate(EstimatorContext(logits: Variable(STFixtures.uniform([50, 3], -1, 1, &rng)), latent: .bernoulli(3)) { z in
            seen = z.value
            return z.sum(alongAxis: -1)
        }, rng: &rng)
        XCTAssertTrue(seen.scalars.allSatisfy { $0 > 0 && $0 < 1 } && seen.scalars.contains { $0 > 0.01 && $0 < 0.99 })
    }

    // MARK: - Registry

    func testRegistryFamiliesAndOptions() throws {
        for name in STFixtures.categoricalNames { XCTAssertNoThrow(try STFixtures.make(name), name) }
        for name in STFixtures.bernoulliNames { XCTAssertNoThrow(try STFixtures.make(name, family: .bernoulli), name) }
        for name in Set(STFixtures.categoricalNames).subtracting(STFixtures.bernoulliNames).sorted() {
            XCTAssertThrowsError(try STFixtures.make(name, family: .bernoulli)) { error in
                XCTAssertEqual(error as? EstimatorError, .unsupportedFamily(estimator: name, family: .bernoulli))
            }
        }
        XCTAssertNoThrow(try STFixtures.make("gst", ["gap": .string("adaptive")]))
        XCTAssertNoThrow(try STFixtures.make("gst", ["gap": .number(0.5)]))
        XCTAssertThrowsError(try STFixtures.make("gst", ["gap": .string("wide")]))
        XCTAssertThrowsError(try STFixtures.make("gst", ["gap": .number(-1)]))
        XCTAssertThrowsError(try STFixtures.make("gr-mc", ["samples": .number(0)]))
        XCTAssertThrowsError(try STFixtures.make("reinmax-cv", ["temperature2": .number(0)]))
        XCTAssertThrowsError(try STFixtures.make("st-gs", ["samples": .number(3)]))   // unknown key
    }

    // MARK: - Numerical safety

    /// Logits of ±50 (probabilities down to e⁻¹⁰⁰, which underflow in Float) and a mix of moderate ones:
    /// every estimator's objective value and logit gradient are finite, in Float and Double, for
    /// categorical and (where supported) Bernoulli latents, over several draws so rare classes get sampled.
    func testNoNaNOrInfForExtremeLogits() throws {
        let extreme: [Double] = [50, -50, 0, -50,   -50, 50, 50, -50,   -50, -50, -50, 50,   30, -30, 1e-3, 0]
        func check<S: TensorScalar>(_ scalar: S.Type) throws {
            let latent = LatentSpec.categorical(4, 4)
            let logits = Tensor(shape: [1, 4, 4], scalars: extreme).expanded(to: [8, 4, 4]).converted(to: S.self)
            let bLogits = Tensor(shape: [1, 16], scalars: extreme).expanded(to: [8, 16]).converted(to: S.self)
            var rng = RandomStream(seed: 91)
            for name in STFixtures.categoricalNames + ["gst-adaptive"] {
                let options = name == "gst-adaptive" ? EstimatorOptions(estimator: "gst", values: ["gap": .string("adaptive")]) : EstimatorOptions(estimator: name)
                let estimator: any GradientEstimator<S> = try EstimatorRegistry.make(options, family: .categorical)
                for _ in 0..<5 {
                    let (grad, estimate) = STFixtures.estimatorGradient(estimator, logits: logits, latent: latent, rng: &rng) {
                        ($0 - 0.3).square().sum(alongAxis: -1).sum(alongAxis: -1)
                    }
                    XCTAssertTrue(grad.isFinite && estimate.surrogate.value.isFinite && estimate.objectiveValue.isFinite, "\(name) \(S.self)")
                }
            }
            for name in STFixtures.bernoulliNames {
                let estimator: any GradientEstimator<S> = try EstimatorRegistry.make(EstimatorOptions(estimator: name), family: .bernoulli)
                for _ in 0..<5 {
                    let (grad, estimate) = STFixtures.estimatorGradient(estimator, logits: bLogits, latent: .bernoulli(16), rng: &rng) {
                        ($0 - 0.3).square().sum(alongAxis: -1)
                    }
                    XCTAssertTrue(grad.isFinite && estimate.surrogate.value.isFinite, "\(name) bernoulli \(S.self)")
                }
            }
        }
        try check(Float.self)
        try check(Double.self)
    }
}
