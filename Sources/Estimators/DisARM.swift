// ARM (Yin & Zhou 2019, arXiv 1807.11143) and DisARM (Dong, Mnih & Tucker 2020, arXiv 2006.10680):
// antithetic two-sample estimators for Bernoulli units, at the logit level.
//
// With one u ~ U(0,1) per unit and σ = σ(a): b₁ = 1[u > 1 − σ], b₂ = 1[u < σ] (both marginally
// Bernoulli(σ), maximally anti-correlated), and per logit coordinate i
//   ARM:    ĝ_i = (f(b₁) − f(b₂))·(u_i − ½)
//   DisARM: ĝ_i = ½(f(b₁) − f(b₂))·(−1)^{b₂,i}·1[b₁,i ≠ b₂,i]·σ(|a_i|)   (u integrated out per unit)
// Both are UNBIASED for ∇a E_q[f]; DisARM has lower variance and is exactly 0 on units where the pair
// agrees. Two evaluations of f per example (one objective call with 2 stacked copies); the decoder
// gets ½(∇f(b₁) + ∇f(b₂)). BERNOULLI LATENTS ONLY (the categorical extensions are different estimators);
// the registry rejects categorical configs. No options.
import Autodiff
import VAE

public enum DisARMDescriptor: EstimatorDescriptor {
    public static let name = "disarm"
    public static let summary = "ARM with the noise integrated out (Bernoulli only, unbiased, 2 evaluations)"
    public static let optionKeys: [String] = []
    public static let families: Set<LatentFamily> = [.bernoulli]
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, scalar: S.Type) throws -> any GradientEstimator<S> {
        DisARM<S>(variant: .disarm)
    }
}

public final class DisARM<S: TensorScalar>: GradientEstimator {
    public enum Variant: String, Sendable { case arm, disarm }

    public let variant: Variant
    public var name: String { variant == .arm ? ARMDescriptor.name : DisARMDescriptor.name }

    public init(variant: Variant = .disarm) { self.variant = variant }

    public func supports(_ family: LatentFamily) -> Bool { family == .bernoulli }

    /// The antithetic pair for logits a and uniforms u (same shape).
    public static func pair(logits: Tensor<S>, uniforms u: Tensor<S>) -> (Tensor<S>, Tensor<S>) {
        let sigma = logits.sigmoid()
        return (u.greater(1 - sigma), sigma.greater(u))
    }

    /// ĝ for given uniforms and the two objective values f(b₁), f(b₂) per example [B].
    public static func logitGradient(variant: Variant, logits: Tensor<S>, uniforms u: Tensor<S>,
                                     f1: Tensor<S>, f2: Tensor<S>) -> Tensor<S> {
        let (b1, b2) = pair(logits: logits, uniforms: u)
        let difference = ScoreFunction.perExample(f1 - f2, like: logits.shape)
        switch variant {
        case .arm:
            return difference * (u - 0.5)
        case .disarm:
            let sign = 1 - 2 * b2                                   // (−1)^{b₂}
            let disagree = 1 - b1.equal(b2)
            return 0.5 * difference * sign * disagree * logits.abs().sigmoid()
        }
    }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        precondition(context.latent.family == .bernoulli, "\(name) is defined for Bernoulli latents only")
        let a = context.logits.value, batch = context.batchSize
        let u = Tensor<S>.uniform(a.shape, using: &rng)
        let (b1, b2) = DisARM.pair(logits: a, uniforms: u)
        let f = context.objective(Variable(ScoreFunction.stacked([b1, b2])))          // [2B]
        let values = f.value.reshaped([2, batch])
        let f1 = (values * ScoreFunction.copyMask(0, copies: 2, shape: [batch])).sum(alongAxis: 0)
        let f2 = (values * ScoreFunction.copyMask(1, copies: 2, shape: [batch])).sum(alongAxis: 0)
        let g = DisARM.logitGradient(variant: variant, logits: a, uniforms: u, f1: f1, f2: f2)
        let surrogate = f.sum() * S(0.5) + (Variable(g) * context.logits).sum()
        return Estimate(surrogate: surrogate, objectiveValue: (f1 + f2) * S(0.5))
    }
}
