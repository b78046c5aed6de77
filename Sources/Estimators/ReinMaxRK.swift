import Autodiff
import VAE

/// ReinMax-RK: a one-parameter family of two-stage (Runge-Kutta-style) ReinMax estimators, after the
/// "generalised ReinMax with alpha" of Wang & Bui's development code (arXiv 2603.08257; the form there
/// changes between commits and its α ≠ 1 members are not consistent, see below), re-derived here.
///
/// Estimates ∇θ E_q[f(D)], D ~ Cat(softmax θ), categorical only. BIASED. One f evaluation, ST cost.
///
/// Derivation. The exact gradient is Σ_i Σ_j π_j (f(e_i) − f(e_j)) ∂π_i/∂θ with
/// f(e_i) − f(e_j) = ∫₀¹ φ(t) dt, φ(t) = g(e_j + t(e_i − e_j))ᵀ(e_i − e_j). A two-stage explicit RK
/// tableau (c₂ = α, b₁ = 1 − 1/(2α), b₂ = 1/(2α)) integrates this t-only ODE as b₁φ(0) + b₂φ(α). A hard
/// sample only gives g at vertices, so the second stage is evaluated at the far vertex (t = 1):
///   f(e_i) − f(e_j) ≈ ((1 − b)·g(e_j) + b·g(e_i))ᵀ(e_i − e_j),   b = b₂ = 1/(2α).
/// α = 1 (Heun, b = ½) is the trapezoid rule, i.e. ReinMax, and is the only second-order member; α = ⅔
/// ("Ralston", b = ¾) and α = ½ ("midpoint", b = 1, a backward-Euler-like rule) keep the tableau's
/// weights but are first order here (a true interior stage would need g off the vertices; replacing it
/// by linear interpolation of the vertex gradients gives back the trapezoid rule for every α).
/// As a single-sample estimator, using ∂π_i/∂θ = π_i(e_i − π), Σ_i ∂π_i/∂θ = 0 and the pointwise
/// identity (D − π)(D − π)ᵀ = 4J(½(π + D)) − 2J(π) for one-hot D:
///   E_D[(1 − b)·J(π)g(D) + b·(D − π)(D − π)ᵀg(D)]  =  E_D[4b·J(π_D)g(D) + (1 − 3b)·J(π)g(D)],
/// so the estimator is   ∇θ = 4b·J(½(softmax(θ/τ) + D))·g + (1 − 3b)·J(softmax θ)·g,
/// (b = ½: 2J(π_D)g − ½J(π)g, ReinMax). Every member is consistent (exact for linear f, since
/// E[(D−π)(D−π)ᵀ] = J(π)); the development code's "2J(π_α)g − J(π)g/(2α)" with π_α = (1−1/(2α))π_τ +
/// D/(2α) (as summarised in the reference) is not: its mean for linear f at τ = 1 is
/// (2 − 1/(2α) − 1/(2α²))·J(π)g, e.g. ⅛·J(π)g at α = ⅔, so it is not used. τ enters only the midpoint, as in ReinMax.
///
/// Options: `alpha` α ≥ ½ (default 1 = ReinMax; ½ midpoint, ⅔ Ralston), `temperature` τ ≥ 1 (default 1.3).
public final class ReinMaxRK<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "reinmax-rk" }
    public static var summary: String { "ReinMax two-stage family: 4b·J(π_D)g + (1−3b)·J(π)g, b = 1/(2α) (α=1 ReinMax)" }
    public static var families: Set<LatentFamily> { [.categorical] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> ReinMaxRK {
        let alpha = try options.number("alpha", default: 1, requirement: "must be >= 0.5 (b = 1/(2α) is the weight of the far-vertex stage, at most 1)") { $0 >= 0.5 }
        return ReinMaxRK(alpha: S(alpha), temperature: S(try ReinMax<S>.temperatureOption(options, default: 1.3)))
    }

    public let alpha: S
    public let temperature: S

    public init(alpha: S = 1, temperature: S = 1.3) {
        precondition(alpha >= 0.5, "reinmax-rk needs alpha >= 0.5, got \(alpha)")
        precondition(temperature >= 1, "reinmax-rk needs temperature >= 1, got \(temperature)")
        self.alpha = alpha
        self.temperature = temperature
    }

    /// b = 1/(2α), the quadrature weight on the far vertex.
    public var farWeight: S { 1 / (2 * alpha) }

    /// 4b·π̃_D + (1 − 3b)·softmax θ.
    public func surrogate(code: Tensor<S>, logits: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        let b = farWeight
        return ReinMax.midpointSurrogate(code: code, logits: logits, family: .categorical, temperature: temperature,
                                         midpointWeight: 4 * b, stWeight: 1 - 3 * b)
    }
}
