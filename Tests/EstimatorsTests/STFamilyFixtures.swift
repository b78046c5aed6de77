// Shared helpers for the straight-through-family tests (STFamilyTests, ReinMaxTests).
import Autodiff
import Estimators
import VAE
import XCTest

enum STFixtures {
    /// Random Double tensor with entries uniform in [lo, hi).
    static func uniform(_ shape: [Int], _ lo: Double, _ hi: Double, _ rng: inout RandomStream) -> Tensor<Double> {
        Tensor.uniform(shape, using: &rng) * (hi - lo) + lo
    }

    /// A one-hot code [.., C] with a random class per row.
    static func randomCode(_ shape: [Int], _ rng: inout RandomStream) -> Tensor<Double> {
        Tensor.oneHot(indices: Tensor.categoricalIndices(logits: Tensor(zeros: shape), using: &rng), classes: shape.last!)
    }

    /// ∂(surrogate)/∂logits for a surrogate builder z = build(leaf), objective f(z) = Σ g ⊙ z (so ∂f/∂z = g).
    static func linearGradient(logits: Tensor<Double>, g: Tensor<Double>, _ build: (Variable<Double>) -> Variable<Double>) -> Tensor<Double> {
        let leaf = Variable(logits, requiresGradient: true)
        let f = (build(leaf) * Variable(g)).sum()
        return gradients(of: f, wrt: [leaf])[0].value
    }

    /// Gradient of an estimator's surrogate w.r.t. the logits, plus f's value, for one `estimate` call.
    static func estimatorGradient<S: TensorScalar>(_ estimator: any GradientEstimator<S>, logits: Tensor<S>, latent: LatentSpec,
                                                   rng: inout RandomStream,
                                                   objective: @escaping (Variable<S>) -> Variable<S>) -> (Tensor<S>, Estimate<S>) {
        let leaf = Variable(logits, requiresGradient: true)
        let context = EstimatorContext(logits: leaf, latent: latent, objective: objective)
        let estimate = estimator.estimate(context, rng: &rng)
        return (gradients(of: estimate.surrogate, wrt: [leaf])[0].value, estimate)
    }

    static func maxAbs(_ t: Tensor<Double>) -> Double { t.abs().scalars.max() ?? 0 }

    static func make(_ name: String, _ values: [String: OptionValue] = [:], family: LatentFamily = .categorical) throws -> any GradientEstimator<Double> {
        try EstimatorRegistry.make(EstimatorOptions(estimator: name, values: values), family: family, scalar: Double.self)
    }

    /// The straight-through family this file tests (the score-function family is tested elsewhere).
    static let categoricalNames = ["st", "gs", "st-gs", "gr-mc", "gst", "reinmax", "reinmax-rao", "reinmax-cv", "reinmax-rk"]
    static let bernoulliNames = ["st", "gs", "st-gs", "reinmax"]
}

// MARK: - Exact double sums over a single K-class variable

/// One categorical variable of K = 5 classes, a random cubic objective and logits θ uniform in
/// [−1.5, 1.5) (π = softmax θ): the setting of the exact Euler (ST) and Heun (ReinMax) identities.
struct CubicFixture {
    static let classes = 5
    var k: Int { Self.classes }
    let objective: CubicObjective
    let theta: Tensor<Double>
    let pi: [Double]
    /// The seeded stream after drawing the fixture, for tests that go on sampling.
    let rng: RandomStream

    init(seed: UInt64) {
        var rng = RandomStream(seed: seed)
        objective = CubicObjective(classes: Self.classes, rng: &rng)
        theta = STFixtures.uniform([1, Self.classes], -1.5, 1.5, &rng)
        pi = theta.softmax().scalars
        self.rng = rng
    }

    /// E_D[∂f(z)/∂θ] for the surrogate z = build(D, θ), summing π_i · ∂f(build(e_i, θ))/∂θ over the K codes.
    func expectation(_ build: (Tensor<Double>, Variable<Double>) -> Variable<Double>) -> [Double] {
        var total = [Double](repeating: 0, count: k)
        for i in 0..<k {
            let code = Tensor(shape: [1, k], scalars: CubicObjective.onehot(i, k))
            let leaf = Variable(theta, requiresGradient: true)
            let grad = gradients(of: objective.graph(build(code, leaf)).sum(), wrt: [leaf])[0].value.scalars
            for m in 0..<k { total[m] += pi[i] * grad[m] }
        }
        return total
    }
}

/// f(D) = (wᵀD)³ + DᵀAD + bᵀD on one categorical variable: nonlinear beyond quadratic, so the Heun
/// (trapezoid) rule is not exact and the Euler and Heun forms and the exact gradient all differ.
struct CubicObjective {
    let w: [Double], a: [[Double]], b: [Double]
    var k: Int { w.count }

    init(classes: Int, rng: inout RandomStream) {
        func u() -> Double { rng.nextUnit() * 2 - 1 }
        w = (0..<classes).map { _ in u() }
        a = (0..<classes).map { _ in (0..<classes).map { _ in u() } }
        b = (0..<classes).map { _ in u() }
    }

    func value(_ d: [Double]) -> Double {
        let s = zip(w, d).map(*).reduce(0, +)
        var quad = 0.0
        for i in 0..<k { for j in 0..<k { quad += d[i] * a[i][j] * d[j] } }
        return s * s * s + quad + zip(b, d).map(*).reduce(0, +)
    }

    /// ∂f/∂D at D: 3(wᵀD)²w + (A + Aᵀ)D + b.
    func gradient(_ d: [Double]) -> [Double] {
        let s = zip(w, d).map(*).reduce(0, +)
        return (0..<k).map { m in
            var lin = 0.0
            for j in 0..<k { lin += (a[m][j] + a[j][m]) * d[j] }
            return 3 * s * s * w[m] + lin + b[m]
        }
    }

    /// The same f as graph ops on z [1, K] (for autograd through the estimators).
    func graph(_ z: Variable<Double>) -> Variable<Double> {
        let wv = Variable(Tensor(shape: [k, 1], scalars: w))
        let am = Variable(Tensor(shape: [k, k], scalars: a.flatMap { $0 }))
        let bv = Variable(Tensor(shape: [k, 1], scalars: b))
        let s = matmul(z, wv)                                 // [1, 1]
        let quad = (matmul(z, am) * z).sum(alongAxis: -1, keepingDimensions: true)
        return (s * s * s + quad + matmul(z, bv)).reshaped([z.shape[0]])
    }

    static func onehot(_ i: Int, _ k: Int) -> [Double] { (0..<k).map { $0 == i ? 1 : 0 } }

    /// Σ_i Σ_j π_j · Δ(i, j) · ∂π_i/∂θ, with ∂π_i/∂θ_m = π_i(δ_im − π_m), for a rule Δ(i, j) ≈ f(e_i) − f(e_j).
    static func doubleSum(pi: [Double], _ delta: (Int, Int) -> Double) -> [Double] {
        let k = pi.count
        var out = [Double](repeating: 0, count: k)
        for i in 0..<k {
            for j in 0..<k {
                let c = pi[j] * delta(i, j)
                for m in 0..<k { out[m] += c * pi[i] * ((i == m ? 1 : 0) - pi[m]) }
            }
        }
        return out
    }

    /// Quadrature rule ((1 − β)·g(e_j) + β·g(e_i))ᵀ(e_i − e_j): β = 0 Euler, ½ Heun.
    func rule(_ beta: Double) -> (Int, Int) -> Double {
        { i, j in
            let gi = gradient(CubicObjective.onehot(i, k)), gj = gradient(CubicObjective.onehot(j, k))
            return ((1 - beta) * (gj[i] - gj[j])) + beta * (gi[i] - gi[j])
        }
    }

    func exactDelta(_ i: Int, _ j: Int) -> Double { value(CubicObjective.onehot(i, k)) - value(CubicObjective.onehot(j, k)) }
}
