import Autodiff
import VAE

/// ARM (Yin & Zhou 2019, arXiv 1807.11143) and DisARM (Dong, Mnih & Tucker 2020, arXiv 2006.10680):
/// antithetic two-sample estimators for Bernoulli units, at the logit level.
///
/// With one u ~ U(0,1) per unit and σ = σ(a): b₁ = 1[u > 1 − σ], b₂ = 1[u < σ] (both marginally
/// Bernoulli(σ), maximally anti-correlated), and per logit coordinate i a member's `logitGradient`
///   ARM:    ĝ_i = (f(b₁) − f(b₂))·(u_i − ½)
///   DisARM: ĝ_i = ½(f(b₁) − f(b₂))·(−1)^{b₂,i}·1[b₁,i ≠ b₂,i]·σ(|a_i|)   (u integrated out per unit)
/// Both are UNBIASED for ∇a E_q[f]; DisARM has lower variance and is exactly 0 on units where the pair
/// agrees. Two evaluations of f per example (one objective call with 2 stacked copies); the decoder
/// gets ½(∇f(b₁) + ∇f(b₂)). BERNOULLI LATENTS ONLY (the categorical extensions are different estimators);
/// the registry rejects categorical configs.
public protocol AntitheticPairEstimator: GradientEstimator {
    /// ĝ for given uniforms and the two objective values f(b₁), f(b₂) per example [B].
    static func logitGradient(logits: Tensor<Scalar>, uniforms u: Tensor<Scalar>, f1: Tensor<Scalar>, f2: Tensor<Scalar>) -> Tensor<Scalar>
}

extension AntitheticPairEstimator {
    /// The antithetic pair for logits a and uniforms u (same shape).
    public static func pair(logits: Tensor<Scalar>, uniforms u: Tensor<Scalar>) -> (Tensor<Scalar>, Tensor<Scalar>) {
        let sigma = logits.sigmoid()
        return (u.greater(1 - sigma), sigma.greater(u))
    }

    public func estimate(_ context: EstimatorContext<Scalar>, rng: inout RandomStream) -> Estimate<Scalar> {
        requireSupported(context.latent)
        let a = context.logits.value, batch = context.batchSize
        let u = Tensor<Scalar>.uniform(a.shape, using: &rng)
        let (b1, b2) = Self.pair(logits: a, uniforms: u)
        let f = context.objective(Variable(ScoreFunction.stacked([b1, b2])))          // [2B]
        let f1 = f.value.sliced(rows: 0..<batch), f2 = f.value.sliced(rows: batch..<(2 * batch))
        let g = Self.logitGradient(logits: a, uniforms: u, f1: f1, f2: f2)
        let surrogate = f.sum() * Scalar(0.5) + (Variable(g) * context.logits).sum()
        return Estimate(surrogate: surrogate, objectiveValue: (f1 + f2) * Scalar(0.5))
    }
}

/// DisARM (Dong, Mnih & Tucker 2020, arXiv 2006.10680): ARM with u integrated out per unit,
///   ĝ_i = ½(f(b₁) − f(b₂))·(−1)^{b₂,i}·1[b₁,i ≠ b₂,i]·σ(|a_i|),
/// exactly 0 on units where the antithetic pair agrees (see `AntitheticPairEstimator`). UNBIASED,
/// two evaluations of f, BERNOULLI LATENTS ONLY.
///
/// No options.
public final class DisARM<S: TensorScalar>: AntitheticPairEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "disarm" }
    public static var summary: String { "ARM with the noise integrated out (Bernoulli only, unbiased, 2 evaluations)" }
    public static var families: Set<LatentFamily> { [.bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> DisARM {
        DisARM()
    }

    public init() {}

    public static func logitGradient(logits: Tensor<S>, uniforms u: Tensor<S>, f1: Tensor<S>, f2: Tensor<S>) -> Tensor<S> {
        let (b1, b2) = pair(logits: logits, uniforms: u)
        let difference = ScoreFunction.perExample(f1 - f2, like: logits.shape)
        let sign = 1 - 2 * b2                                   // (−1)^{b₂}
        let disagree = 1 - b1.equal(b2)
        return 0.5 * difference * sign * disagree * logits.abs().sigmoid()
    }
}
