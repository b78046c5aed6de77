// ReinMax and its family (reinmax-rk, reinmax-rao, reinmax-cv): the backward against hand-checked
// numbers, the direct formula and the reference's autograd recipe; the exact Heun identity; the bias
// ordering against ST on a real nonlinear decoder; option validation.
//
// Tolerances: identities are checked to 1e-12 to 1e-14 in Float64, where these O(10)-flop computations
// on O(1) values round at ~1e-15; each identity has a power check (a difference > 1e-3, or a gradient
// that must not vanish) that a wrong factor or term would move by many orders more.
import Autodiff
import Estimators
import VAE
import XCTest

final class ReinMaxTests: XCTestCase {
    // MARK: - Backward formula

    /// Hand-worked: θ = (0, ln 3, 0) so π = (.2, .6, .2); D = e₀; g = (1, 0, −1); τ = 1.
    /// π_D = (.6, .3, .1): J(π_D)g = p⊙g − p(pᵀg) = (.6, 0, −.1) − .5·π_D = (.3, −.15, −.15).
    /// J(π)g = (.2, 0, −.2) − 0 = (.2, 0, −.2). ∇ = 2(.3, −.15, −.15) − ½(.2, 0, −.2) = (.5, −.3, −.2).
    /// τ = 2 with θ = (0, ln 9, 0): softmax(θ/2) is again (.2, .6, .2) so J(π_D)g is unchanged, while
    /// π = (1, 9, 1)/11 gives J(π)g = (1, 0, −1)/11: ∇ = (.6 − 1/22, −.3, −.3 + 1/22). No 1/τ factor.
    func testBackwardMatchesHandCheckedValues() {
        let g = Tensor<Double>(shape: [1, 3], scalars: [1, 0, -1])
        let code = Tensor<Double>(shape: [1, 3], scalars: [1, 0, 0])
        let cases: [(theta: [Double], tau: Double, expected: [Double])] = [
            ([0, Foundation.log(3), 0], 1, [0.5, -0.3, -0.2]),
            ([0, Foundation.log(9), 0], 2, [0.6 - 1.0 / 22, -0.3, -0.3 + 1.0 / 22]),
        ]
        for c in cases {
            let grad = STFixtures.linearGradient(logits: Tensor(shape: [1, 3], scalars: c.theta), g: g) {
                ReinMax.relaxed(code: code, logits: $0, family: .categorical, temperature: c.tau, midpointWeight: 2, stWeight: -0.5)
            }
            for (a, b) in zip(grad.scalars, c.expected) { XCTAssertEqual(a, b, accuracy: 1e-12, "τ = \(c.tau)") }
        }
    }

    /// The estimator's backward = 2·J(π_D)g − ½·J(π)g computed with `softmaxJacobianProduct`, and = the
    /// reference's autograd recipe (π₁ = ½(D + softmax(θ/τ)); π₁ ← softmax(sg(log π₁ − θ) + θ);
    /// π₂ = 2π₁ − ½π; D + π₂ − sg(π₂)), built naively (log of π₁, no log-space care), to 1e-10 in
    /// Float64 (both are O(10) flops per entry on O(1) values: rounding is ~1e-15).
    /// The full `reinmax` estimator is replayed to the same D, so the class itself is what is checked.
    func testBackwardMatchesDirectFormulaAndAutogradRecipe() throws {
        var rng = RandomStream(seed: 11)
        let latent = LatentSpec.categorical(3, 7)
        for tau in [1.0, 1.3, 2.0] {
            let logits = STFixtures.uniform([4, 3, 7], -3, 3, &rng)
            let g = STFixtures.uniform([4, 3, 7], -1, 1, &rng)
            let estimator = try STFixtures.make("reinmax", ["temperature": .number(tau)])
            var replay = rng
            let code = latent.sample(logits: logits, rng: &replay)
            let (grad, _) = STFixtures.estimatorGradient(estimator, logits: logits, latent: latent, rng: &rng) {
                ($0 * Variable(g)).sum(alongAxis: -1).sum(alongAxis: -1)
            }
            let pi = logits.softmax(), piTau = (logits / tau).softmax()
            let direct = withoutGradients {
                2 * softmaxJacobianProduct(Variable((piTau + code) * 0.5), Variable(g)).value
                    - 0.5 * softmaxJacobianProduct(Variable(pi), Variable(g)).value
            }
            let recipe = STFixtures.linearGradient(logits: logits, g: g) { theta in
                let pi1 = (Variable(code) + (theta / tau).softmax()) * 0.5
                let pinned = (Variable(pi1.value.log() - theta.value) + theta).softmax()
                let pi2 = 2 * pinned - 0.5 * theta.softmax()
                return Variable(code) + pi2 - pi2.detached()
            }
            XCTAssertLessThan(STFixtures.maxAbs(grad - direct), 1e-10, "τ = \(tau)")
            XCTAssertLessThan(STFixtures.maxAbs(grad - recipe), 1e-10, "τ = \(tau)")
            // Power: the ST-style 1/τ factor or a missing factor 2 would be caught: the gradient is 0.4–0.7
            // here (seeded), so requiring > 0.05 keeps it 8 orders above the 1e-10 tolerance.
            XCTAssertGreaterThan(STFixtures.maxAbs(direct), 0.05)
        }
    }

    /// The Bernoulli (sigmoid) form equals ReinMax on the 2-class categorical with logits (0, a).
    func testBernoulliFormEqualsTwoClassCategorical() {
        var rng = RandomStream(seed: 5)
        let a = STFixtures.uniform([6], -4, 4, &rng)
        let b = Tensor<Double>.bernoulli(probabilities: Tensor(repeating: 0.5, shape: [6]), using: &rng)
        let gb = STFixtures.uniform([6], -1, 1, &rng)
        for tau in [1.0, 1.7] {
            let bernoulli = STFixtures.linearGradient(logits: a, g: gb) {
                ReinMax.relaxed(code: b, logits: $0, family: .bernoulli, temperature: tau, midpointWeight: 2, stWeight: -0.5)
            }
            // logits (0, a) as [6, 2]; code (1 − b, b); objective g_b·D₁ (so g₁ − g₀ = g_b).
            let twoClass = Tensor<Double>(shape: [6, 2]) { out in for i in 0..<6 { out[2 * i] = 0; out[2 * i + 1] = a[flat: i] } }
            let code = Tensor<Double>(shape: [6, 2]) { out in for i in 0..<6 { out[2 * i] = 1 - b[flat: i]; out[2 * i + 1] = b[flat: i] } }
            let g2 = Tensor<Double>(shape: [6, 2]) { out in for i in 0..<6 { out[2 * i] = 0; out[2 * i + 1] = gb[flat: i] } }
            let categorical = STFixtures.linearGradient(logits: twoClass, g: g2) {
                ReinMax.relaxed(code: code, logits: $0, family: .categorical, temperature: tau, midpointWeight: 2, stWeight: -0.5)
            }
            for i in 0..<6 { XCTAssertEqual(bernoulli[flat: i], categorical[flat: 2 * i + 1], accuracy: 1e-12) }
        }
    }

    // MARK: - Exact identities (K = 5, summing over D)

    /// E_D[ReinMax at τ = 1] = Σ_i Σ_j π_j ½(g(e_i) + g(e_j))ᵀ(e_i − e_j) ∂π_i/∂θ (Heun), exactly, with a
    /// cubic f whose gradient depends on D; and reinmax-rk(α) = the b = 1/(2α) rule for α ∈ {½, ⅔, 1}.
    /// Power: the Heun form differs from both the Euler form and the exact gradient by > 1e-3 here.
    func testExpectationIsHeunFormExactly() throws {
        let fixture = CubicFixture(seed: 21)
        let (k, objective, pi) = (fixture.k, fixture.objective, fixture.pi)
        let expectation = fixture.expectation
        let heun = CubicObjective.doubleSum(pi: pi, objective.rule(0.5))
        let reinmax = expectation { ReinMax.relaxed(code: $0, logits: $1, family: .categorical, temperature: 1, midpointWeight: 2, stWeight: -0.5) }
        for m in 0..<k { XCTAssertEqual(reinmax[m], heun[m], accuracy: 1e-12) }

        for alpha in [0.5, 2.0 / 3.0, 1.0] {
            let b = 1 / (2 * alpha)
            let rk = expectation { ReinMax.relaxed(code: $0, logits: $1, family: .categorical, temperature: 1, midpointWeight: 4 * b, stWeight: 1 - 3 * b) }
            let rule = CubicObjective.doubleSum(pi: pi, objective.rule(b))
            for m in 0..<k { XCTAssertEqual(rk[m], rule[m], accuracy: 1e-12, "α = \(alpha)") }
        }
        let euler = CubicObjective.doubleSum(pi: pi, objective.rule(0))
        let exact = CubicObjective.doubleSum(pi: pi, objective.exactDelta)
        XCTAssertGreaterThan(zip(heun, euler).map { Swift.abs($0 - $1) }.max()!, 1e-3)
        XCTAssertGreaterThan(zip(heun, exact).map { Swift.abs($0 - $1) }.max()!, 1e-3)
        // The exact double sum is the true gradient Σ_i f(e_i)∂π_i/∂θ (checks the test's own algebra).
        let direct = (0..<k).map { m in (0..<k).reduce(0.0) { $0 + objective.value(CubicObjective.onehot($1, k)) * pi[$1] * (($1 == m ? 1 : 0) - pi[m]) } }
        for m in 0..<k { XCTAssertEqual(exact[m], direct[m], accuracy: 1e-12) }
    }

    /// reinmax-rk and reinmax-cv (η = 0) are the same estimator as reinmax at α = 1, replayed to the same D.
    func testFamilyMembersReduceToReinMax() throws {
        var rng = RandomStream(seed: 8)
        let latent = LatentSpec.categorical(2, 6)
        let logits = STFixtures.uniform([3, 2, 6], -2, 2, &rng)
        let g = STFixtures.uniform([3, 2, 6], -1, 1, &rng)
        let objective: (Variable<Double>) -> Variable<Double> = { ($0 * Variable(g)).sum(alongAxis: -1).sum(alongAxis: -1) }
        var r0 = rng, r1 = rng, r2 = rng, r3 = rng
        let base = STFixtures.estimatorGradient(try STFixtures.make("reinmax", ["temperature": .number(1.2)]), logits: logits, latent: latent, rng: &r0, objective: objective).0
        let rk = STFixtures.estimatorGradient(try STFixtures.make("reinmax-rk", ["temperature": .number(1.2), "alpha": .number(1)]), logits: logits, latent: latent, rng: &r1, objective: objective).0
        let cv = STFixtures.estimatorGradient(try STFixtures.make("reinmax-cv", ["temperature": .number(1.2), "eta": .number(0)]), logits: logits, latent: latent, rng: &r2, objective: objective).0
        let cvOn = STFixtures.estimatorGradient(try STFixtures.make("reinmax-cv", ["temperature": .number(1.2)]), logits: logits, latent: latent, rng: &r3, objective: objective).0
        XCTAssertLessThan(STFixtures.maxAbs(rk - base), 1e-12)
        XCTAssertLessThan(STFixtures.maxAbs(cv - base), 1e-12)
        XCTAssertGreaterThan(STFixtures.maxAbs(cvOn - base), 1e-3, "η = 1.5 must change the estimate (power)")
    }

    /// ReinMax-CV's correction η(J_GR − J_GS)g, replayed to the same D as ReinMax (the difference of the two
    /// logit gradients is the correction alone): with `gs_noise` = "conditional" its mean over draws is zero
    /// (every coordinate within 5 standard errors of 0, derived from the draws: a false failure has
    /// probability < 12 · 5.7e-7); with the default fresh G' it is not (some coordinate beyond 10 standard
    /// errors: the bias the 8×4 protocol runs show, measured here at 12,800 draws; at 1,600 it stood at 5.4).
    func testReinMaxCVCorrectionIsZeroMeanOnlyWithConditionalNoise() throws {
        var rng = RandomStream(seed: 21)
        let latent = LatentSpec.categorical(1, 4)
        let logits = STFixtures.uniform([3, 1, 4], -1.5, 1.5, &rng)
        let g = STFixtures.uniform([3, 1, 4], -1, 1, &rng)
        let objective: (Variable<Double>) -> Variable<Double> = { ($0 * Variable(g)).sum(alongAxis: -1).sum(alongAxis: -1) }
        let reinmax = try STFixtures.make("reinmax", ["temperature": .number(1)])
        func standardizedMeans(_ noise: String) throws -> [Double] {
            let cv = try STFixtures.make("reinmax-cv", ["temperature": .number(1), "samples": .number(4), "gs_noise": .string(noise)])
            let draws = 12_800, width = logits.count
            var sum = [Double](repeating: 0, count: width), squares = sum
            var stream = RandomStream(seed: 99)
            for _ in 0..<draws {
                var a = stream.split(), b = a
                let base = STFixtures.estimatorGradient(reinmax, logits: logits, latent: latent, rng: &a, objective: objective).0
                let corrected = STFixtures.estimatorGradient(cv, logits: logits, latent: latent, rng: &b, objective: objective).0
                for (i, d) in (corrected - base).scalars.enumerated() { sum[i] += d; squares[i] += d * d }
            }
            let n = Double(draws)
            return (0..<width).map { i in
                let mean = sum[i] / n, variance = (squares[i] - n * mean * mean) / (n - 1)
                return variance > 0 ? mean / (variance / n).squareRoot() : 0
            }
        }
        let conditional = try standardizedMeans("conditional")
        XCTAssertLessThan(conditional.map(Swift.abs).max()!, 5, "conditional noise: a zero-mean correction \(conditional)")
        let fresh = try standardizedMeans("fresh")
        XCTAssertGreaterThan(fresh.map(Swift.abs).max()!, 10, "fresh noise: a biased correction \(fresh)")
    }

    /// ReinMax-Rao's K-average really averages: for a fixed D, the spread between independent Rao
    /// Jacobian products shrinks like 1/√K (K = 1 vs K = 400: ≈ 20×; asserted > 5×, averaged over
    /// 10 pairs so one lucky K = 1 pair cannot fail it).
    func testRaoAverageReducesNoise() throws {
        var rng = RandomStream(seed: 3)
        let latent = LatentSpec.categorical(1, 6)
        let logits = STFixtures.uniform([1, 1, 6], -2, 2, &rng)
        let g = STFixtures.uniform([1, 1, 6], -1, 1, &rng)
        let code = latent.sample(logits: logits, rng: &rng)
        let logMid = ReinMax<Double>.logMidpoint(code: code, logits: logits, temperature: 1)
        func draw(_ k: Int, _ noise: inout RandomStream) -> Tensor<Double> {
            let x = Variable(logits, requiresGradient: true)
            let perturbed = GumbelRao<Double>.conditionalPerturbations(of: logMid, code: code, samples: k, rng: &noise)
            let y = GumbelRao.average(inputs: x + Variable(logMid - logits), perturbed: perturbed, samples: k, temperature: 0.7)
            return gradients(of: (y * Variable(g)).sum(), wrt: [x])[0].value
        }
        func spread(_ k: Int) -> Double {
            var noise = RandomStream(seed: UInt64(k))
            return (0..<10).reduce(0.0) { total, _ in total + STFixtures.maxAbs(draw(k, &noise) - draw(k, &noise)) } / 10
        }
        XCTAssertLessThan(spread(400), spread(1) / 5)
    }

    // MARK: - Bias against the exact gradient

    /// 8 classes × 4 variables (4096 codes), a fixed random tanh MLP decoder with a Bernoulli NLL, exact
    /// encoder-logit gradient by enumeration. N = 40000 draws of ST and ReinMax at τ = 1 (one batched
    /// call, one row per draw). ‖mean − exact‖ carries Monte-Carlo noise of about √(Σ SE²); the test asserts
    /// the gap between the two bias norms exceeds 4× the sum of both noise norms.
    func testReinMaxHasSmallerBiasThanST() throws {
        var rng = RandomStream(seed: 2024)
        let latent = LatentSpec.categorical(4, 8)
        let decoder = MLP<Double>(inputs: 32, hidden: [24], outputs: 16, activation: .tanh, rng: &rng, name: "dec")
        let target = Tensor<Double>.bernoulli(probabilities: Tensor(repeating: 0.5, shape: [1, 16]), using: &rng)
        let theta = STFixtures.uniform([1, 4, 8], -1.5, 1.5, &rng)
        func objective(_ z: Variable<Double>) -> Variable<Double> {
            let rows = z.shape[0]
            let logits = decoder(z.reshaped([rows, 32])) * 3
            return bernoulliNLL(logits: logits, targets: target.expanded(to: [rows, 16]))
        }
        let exact = ExactExpectation.logitGradient(EstimatorContext(logits: Variable(theta), latent: latent, objective: objective))
        let n = 40000
        func bias(_ name: String) throws -> (bias: Double, noise: Double) {
            var draws = RandomStream(seed: 77)
            let (grad, _) = STFixtures.estimatorGradient(try STFixtures.make(name, ["temperature": .number(1)]),
                                                         logits: theta.expanded(to: [n, 4, 8]), latent: latent,
                                                         rng: &draws, objective: objective)
            let mean = grad.mean(alongAxis: 0)
            let variance = (grad - mean).square().mean(alongAxis: 0)
            let err = (mean - exact.reshaped([4, 8])).square().sum().scalar
            return (err.squareRoot(), (variance.sum().scalar / Double(n)).squareRoot())
        }
        let st = try bias("st"), rm = try bias("reinmax")
        print("bias vs exact (8x4, N = \(n)): ST \(st.bias) ± \(st.noise), ReinMax \(rm.bias) ± \(rm.noise)")
        XCTAssertLessThan(rm.bias + 4 * (st.noise + rm.noise), st.bias,
                          "ReinMax bias \(rm.bias) vs ST bias \(st.bias) (noise ST \(st.noise), ReinMax \(rm.noise))")
    }

    // MARK: - Options

    func testTemperatureBelowOneIsRejected() {
        for name in ["reinmax", "reinmax-rk", "reinmax-cv"] {
            XCTAssertThrowsError(try STFixtures.make(name, ["temperature": .number(0.7)])) { error in
                guard case let EstimatorError.invalidOption(_, key, _, requirement)? = error as? EstimatorError else {
                    return XCTFail("\(name): wrong error \(error)")
                }
                XCTAssertEqual(key, "temperature")
                XCTAssertTrue(requirement.contains(">= 1"), requirement)
            }
            XCTAssertNoThrow(try STFixtures.make(name, ["temperature": .number(1)]))
        }
        XCTAssertThrowsError(try STFixtures.make("reinmax-rk", ["alpha": .number(0.4)]))
    }
}
