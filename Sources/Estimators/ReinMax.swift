import Autodiff
import VAE

/// ReinMax, Liu, Dong, Liu, Yu & Gao, NeurIPS 2023, arXiv 2304.08612.
///
/// Estimates ∇θ E_q[f(D)] for D ~ Cat(softmax θ). BIASED, but second order: at τ = 1 its expectation is
/// the Heun/trapezoid approximation of the exact gradient, where ST's is the forward-Euler one:
///   exact:  Σ_i Σ_j π_j (f(e_i) − f(e_j)) ∂π_i/∂θ
///   ST:     f(e_i) − f(e_j) ≈ g(e_j)ᵀ(e_i − e_j)                 (E_D[J(π)g(D)])
///   Heun:   f(e_i) − f(e_j) ≈ ½(g(e_i) + g(e_j))ᵀ(e_i − e_j)     (E_D[2J(π_D)g(D) − ½J(π)g(D)])
/// Requires one evaluation of f and g = ∂f/∂D at the hard sample (an f that accepts one-hot input).
/// Cost: that of ST (one extra softmax and one extra O(C) Jacobian product per variable).
///
/// Forward: D ~ Cat(π), π = softmax θ (τ never touches the sample). Backward:
///   ∇θ = 2·J(π_D)·g − ½·J(π)·g,   π_D = ½(softmax(θ/τ) + D),   J(p) = diag(p) − ppᵀ,
/// with NO 1/τ factor (τ only moves the midpoint). Built from graph ops, not a hand-written backward:
///   D is returned through Variable.straightThrough(value: D, surrogate: 2·π̃_D − ½·softmax θ),
///   where π̃_D = softmax(sg(log π_D − θ) + θ) has value π_D and Jacobian J(π_D) w.r.t. θ.
/// log π_D is formed in log space (log ½ + log1p(π_τ) at the sampled class, log ½ + log π_τ elsewhere),
/// so it stays finite for logits of ±50 where π_τ underflows.
///
/// Bernoulli units use the equivalent sigmoid form (a unit with logit a is the 2-class categorical
/// with logits (0, a); its class-1 Jacobian entry is s(1−s), and g_b plays the role of g₁ − g₀):
///   ∇a = 2·s_D(1−s_D)·g_b − ½·σ(a)(1−σ(a))·g_b,   s_D = ½(b + σ(a/τ)),
/// implemented as straightThrough(b, 2·σ(sg(logit s_D − a) + a) − ½·σ(a)).
///
/// Options: `temperature` τ ≥ 1 (default 1.3, the paper's tuned value for MNIST-VAE 8×4 with Adam;
/// 1.5 is tuned for the larger shapes, 1.0 for polynomial programming). τ < 1 is rejected, as in the
/// official package ("ReinMax prefers τ ≥ 1").
public final class ReinMax<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "reinmax" }
    public static var summary: String { "ReinMax: hard sample, Heun (second-order) backward 2J(π_D)g − ½J(π)g (biased, ST cost)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> ReinMax {
        ReinMax(temperature: S(try temperatureOption(options, default: 1.3)))
    }

    public let temperature: S

    public init(temperature: S = 1.3) {
        precondition(temperature >= 1, "ReinMax needs temperature >= 1, got \(temperature)")
        self.temperature = temperature
    }

    /// The τ ≥ 1 rule shared by the ReinMax family, with a message that says why.
    static func temperatureOption(_ options: EstimatorOptions, key: String = "temperature", default fallback: Double) throws -> Double {
        try options.number(key, default: fallback,
                           requirement: "must be >= 1 (ReinMax's τ only moves the midpoint ½(softmax(θ/τ)+D); τ < 1 is the Gumbel-softmax regime and is not supported)") { $0 >= 1 }
    }

    /// 2·π̃_D − ½·softmax θ (or its sigmoid form).
    public func surrogate(code: Tensor<S>, logits: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        ReinMax.midpointSurrogate(code: code, logits: logits, family: latent.family, temperature: temperature,
                                  midpointWeight: 2, stWeight: -0.5)
    }

    /// D forward; backward midpointWeight·J(½(π_τ + D))g + stWeight·J(π)g (ReinMax: 2 and −½).
    public static func relaxed(code: Tensor<S>, logits: Variable<S>, family: LatentFamily, temperature: S,
                               midpointWeight: S, stWeight: S) -> Variable<S> {
        Variable.straightThrough(value: code, surrogate: midpointSurrogate(code: code, logits: logits, family: family, temperature: temperature,
                                                                           midpointWeight: midpointWeight, stWeight: stWeight))
    }

    /// midpointWeight·π̃_D + stWeight·π, whose Jacobian is midpointWeight·J(π_D) + stWeight·J(π).
    public static func midpointSurrogate(code: Tensor<S>, logits: Variable<S>, family: LatentFamily, temperature: S,
                                         midpointWeight: S, stWeight: S) -> Variable<S> {
        switch family {
        case .categorical:
            let logMid = logMidpoint(code: code, logits: logits.value, temperature: temperature)
            return midpointWeight * pinnedSoftmax(logValue: logMid, logits: logits) + stWeight * logits.softmax()
        case .bernoulli:
            let a = logits.value / temperature
            let half = S.log(0.5)
            let logS = half + Tensor.select(code, a.sigmoid().log1p(), a.logSigmoid())
            let logOneMinusS = half + Tensor.select(code, a.neg().logSigmoid(), a.neg().sigmoid().log1p())
            let pinned = (logits + Variable(logS - logOneMinusS - logits.value)).sigmoid()
            return midpointWeight * pinned + stWeight * logits.sigmoid()
        }
    }

    /// log(½(softmax(θ/τ) + D)) in log space: finite even where softmax(θ/τ) underflows.
    public static func logMidpoint(code: Tensor<S>, logits: Tensor<S>, temperature: S) -> Tensor<S> {
        let logPi = (temperature == 1 ? logits : logits / temperature).logSoftmax()
        return S.log(0.5) + Tensor.select(code, logPi.exp().log1p(), logPi)
    }

    /// softmax(sg(log p − θ) + θ): value p (for a normalised p), Jacobian J(p) w.r.t. θ.
    public static func pinnedSoftmax(logValue: Tensor<S>, logits: Variable<S>) -> Variable<S> {
        (logits + Variable(logValue - logits.value)).softmax()
    }
}
