import Autodiff
import VAE

/// ReinMax-CV, Wang & Bui, "Beyond ReinMax", arXiv 2603.08257 (method `reinmax_cv` in the authors'
/// development code). Categorical only. BIASED.
///
/// The reference flags the authors' development code as inconsistent (it saves the soft sample as
/// "G" and drops the 1/τ₂ of the GS Jacobian) and reports that the paper's eq. 18 drops ReinMax's
/// factor 2. Implemented here, with every choice explicit:
///   π_D  = ½(softmax(θ/τ) + D),  θ_D = log π_D          (τ = `temperature`, default 1: "fix this temp to 1.0")
///   J_GR = (1/K) Σ_k J(softmax((θ_D + G_k)/τ₂))/τ₂,   G_k ~ p(G | argmax(θ_D + G) = D)   (conditional)
///   J_GS = J(softmax((θ_D + G')/τ₂))/τ₂,               G' ~ Gumbel(0, 1), fresh          (unconditional)
///   ∇θ   = 2·J(π_D)·g − ½·J(π)·g + η·(J_GR − J_GS)·g
/// All noise is detached; derivatives are taken w.r.t. the softmax input at θ_D (identity Jacobian
/// from θ, as in ReinMax-Rao). What the correction does: given D, E[J_GS | D] = Σ_{D'} π_D(D')·J̄(D')
/// with J̄(D') the conditional GS Jacobian given argmax = D', while J_GR → J̄(D) as K grows, so
///   E[η(J_GR − J_GS) | D] = η·(1 − π_D(D))·(J̄(D) − avg_{D' ≠ D} J̄(D'))   (weights π_D(D')/(1 − π_D(D)))
/// With a fresh G' (`gs_noise` = "fresh", the default, the third-party reading of eq. 18) it is NOT a
/// zero-mean control variate: it shifts ReinMax's estimate towards the Rao-Blackwellised GS Jacobian of the
/// sampled class, and vanishes as π_D(D) → 1. With `gs_noise` = "conditional", G' is drawn like the G_k,
/// given argmax(θ_D + G') = D, so E[J_GS | D] = E[J_GR | D] and the correction has mean zero: the estimator's
/// expectation is ReinMax's (tested); what it adds is noise, unless J_GS is coupled to the sample.
/// η = 0 is exactly ReinMax (tested).
/// Cost: K + 1 extra softmaxes per variable in two fused ops; one f evaluation.
///
/// Options: `eta` η (default 1.5), `temperature2` τ₂ > 0 (default 0.7), `samples` K ≥ 1 (default 32),
/// `temperature` τ ≥ 1 for the midpoint (default 1.0), `gs_noise` "fresh" (default) or "conditional".
public final class ReinMaxCV<S: TensorScalar>: StraightThroughEstimator {
    public typealias Scalar = S  // (not inferred: `estimate` comes from the protocol)
    public static var name: String { "reinmax-cv" }
    public static var summary: String { "ReinMax + η(J_GR − J_GS)g correction at log π_D (τ₂, K conditional Gumbels; biased)" }
    public static var families: Set<LatentFamily> { [.categorical] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> ReinMaxCV {
        ReinMaxCV(eta: S(try options.number("eta", default: 1.5)),
                  temperature: S(try ReinMax<S>.temperatureOption(options, default: 1)),
                  temperature2: S(try options.temperature("temperature2", default: 0.7)),
                  samples: try options.integer("samples", default: 32),
                  conditionalGSNoise: try options.choice("gs_noise", default: "fresh", allowed: ["fresh", "conditional"]) == "conditional")
    }

    public let eta: S
    public let temperature: S
    public let temperature2: S
    public let samples: Int
    /// J_GS's Gumbel drawn given argmax(θ_D + G') = D (a zero-mean correction) instead of fresh.
    public let conditionalGSNoise: Bool

    public init(eta: S = 1.5, temperature: S = 1, temperature2: S = 0.7, samples: Int = 32, conditionalGSNoise: Bool = false) {
        precondition(temperature >= 1 && temperature2 > 0 && samples >= 1,
                     "reinmax-cv needs temperature >= 1, temperature2 > 0, samples >= 1")
        self.eta = eta
        self.temperature = temperature
        self.temperature2 = temperature2
        self.samples = samples
        self.conditionalGSNoise = conditionalGSNoise
    }

    /// 2·π̃_D − ½·softmax θ + η·(J_GR − J_GS), J_GR and J_GS each a fused mixture; the Gumbels drawn after the sample.
    public func surrogate(code: Tensor<S>, logits theta: Variable<S>, latent: LatentSpec, rng: inout RandomStream) -> Variable<S> {
        let (x, logMid) = ReinMaxRao.midpointLogits(theta, code: code, temperature: temperature)
        var surrogate = 2 * ReinMax.pinnedSoftmax(logValue: logMid, logits: theta) - 0.5 * theta.softmax()
        if eta != 0 {
            // J_GR: K conditional draws given D, weights 1/K; J_GS: one draw, unconditional (fresh) or one
            // more conditional draw, weight 1.
            let rao = GumbelRao.conditionalAverage(inputs: x, noiseLogits: logMid, code: code, samples: samples,
                                                   temperature: temperature2, rng: &rng)
            let gs = conditionalGSNoise
                ? GumbelRao.conditionalAverage(inputs: x, noiseLogits: logMid, code: code, samples: 1, temperature: temperature2, rng: &rng)
                : x.softmaxMixture(shifted: logMid + Tensor.gumbel(logMid.shape, using: &rng), weights: [1], temperature: temperature2)
            surrogate = surrogate + eta * (rao - gs)
        }
        return surrogate
    }
}
