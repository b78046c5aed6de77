import Autodiff
import VAE

/// The relaxation σ_λ of Bernoulli units (categorical variables always use softmax(z/λ)).
public enum Relaxation: String, CaseIterable, Sendable {
    /// σ(z/λ + a·λ/(λ+1)), TF REBAR's `muprop_relaxation`.
    case muprop
    /// σ(z/λ).
    case plain

    /// The `relaxation` option (REBAR's and RELAX's).
    static func option(_ options: EstimatorOptions) throws -> Relaxation {
        Relaxation(rawValue: try options.choice("relaxation", default: "muprop", allowed: allCases.map(\.rawValue)))!
    }

    /// σ_λ(z) for perturbed logits z with the (possibly repeated) logits a of the same shape.
    @_specialize(where S == Float)
    public func callAsFunction<S>(_ z: Variable<S>, logits: Variable<S>, logTemperature: Variable<S>,
                                  family: LatentFamily) -> Variable<S> {
        let lambda = logTemperature.exp()
        if family == .categorical { return (z / lambda).softmax() }
        switch self {
        case .plain: return (z / lambda).sigmoid()
        case .muprop: return (z / lambda + logits * (lambda / (lambda + 1))).sigmoid()
        }
    }
}

/// REBAR (Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 2017, arXiv 1703.07370), with the learned
/// control-variate machinery it shares with RELAX.
///
/// Estimates ∇θ E_q[f(b)] (θ = the logits); UNBIASED for every η and λ:
///   ĝ = [f(b) − c(z̃)]·∇θ log q(b) + ∇θ c(z) − ∇θ c(z̃),   c(z) = η·f(σ_λ(z)),
/// with z ~ p(z|θ) (logits + logistic / Gumbel noise), b = H(z) (threshold / argmax) and z̃ ~ p(z | b, θ)
/// from the conditional samplers (ConditionalLogistic, ConditionalGumbel), differentiable in θ.
/// Relaxations σ_λ:
/// - Bernoulli, `relaxation = "muprop"` (default, TF REBAR's improved one): σ(z/λ + a·λ/(λ+1));
///   `"plain"`: σ(z/λ) (the RELAX toy's). The explicit a-dependence is part of c, so ∇θ above is the total
///   derivative and the estimator stays unbiased.
/// - Categorical: softmax(z/λ) (the relaxation option does not apply).
/// Learned parameters: η (one scalar, unconstrained so that η = 0 is REINFORCE exactly; TF REBAR uses
/// 2σ(v)) and log λ. Both are tuned by minimising the single-sample variance proxy mean(ĝ²) (E[ĝ] does
/// not depend on them) by double backprop: ĝ's reparameterisation part ∇θ[c(z) − c(z̃)] is built with
/// `createGraph: true`, w.r.t. a private leaf copy of the logits, so `auxiliaryLoss` = mean(ĝ²) has
/// gradients w.r.t. η and log λ through mixed θ×(η, λ) second derivatives only, never a θ×θ Hessian.
/// No leakage into the model: the surrogate is f(b) + Σ sg(ĝ)·logits, so the encoder receives exactly ĝ
/// and the decoder exactly ∇f(b); the relaxed evaluations f(σ_λ(·)) never reach the model's backward.
/// Costs: three evaluations of f (b and two relaxed codes, the latter in one stacked call) plus a
/// double-backprop pass. Simplifications, stated: one η for all units, no NVIL baseline on top (TF
/// REBAR adds one), independent (not tied) noise for z̃ (RELAX Algorithm 1).
///
/// Options: `eta` (initial η, default 1), `temperature` (initial λ, default 0.5), `relaxation`,
/// `learning_rate_scale` (Adam lr multiplier for η, log λ; default 10).
public final class REBAR<S: TensorScalar>: GradientEstimator {
    public static var name: String { "rebar" }
    public static var summary: String { "REINFORCE with the relaxed control variate η·f(σ_λ(z)), η and λ tuned for variance (unbiased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> REBAR {
        REBAR(eta: S(try options.number("eta", default: 1)),
              temperature: S(try options.temperature(default: 0.5)),
              relaxation: try Relaxation.option(options),
              learningRateScale: S(try options.learningRateScale()))
    }

    /// η, shape [1].
    public let eta: Variable<S>
    /// log λ, shape [1].
    public let logTemperature: Variable<S>
    public let relaxation: Relaxation
    public let parameterLearningRateScale: S

    public init(eta: S = 1, temperature: S = 0.5, relaxation: Relaxation = .muprop, learningRateScale: S = 10) {
        precondition(temperature > 0, "REBAR: temperature must be > 0")
        self.eta = Variable(Tensor(shape: [1], scalars: [eta]), requiresGradient: true, name: "rebar.eta")
        logTemperature = Variable(Tensor(shape: [1], scalars: [S.log(temperature)]), requiresGradient: true,
                                  name: "rebar.log_temperature")
        self.relaxation = relaxation
        parameterLearningRateScale = learningRateScale
    }

    public var parameters: [Variable<S>] { [eta, logTemperature] }

    public var diagnostics: [(name: String, value: Double)] {
        [("eta", Double(eta.value.scalar)), ("log_temperature", Double(logTemperature.value.scalar))]
    }

    @_specialize(where S == Float)
    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        LearnedControlVariate.estimate(context, rng: &rng, logTemperature: logTemperature, relaxation: relaxation) { [eta] _, f in
            eta * f
        }
    }
}

// MARK: - The shared RELAX-form estimator

/// ĝ = [f(b) − c(z̃)]·∇θ log q(b) + ∇θ c(z) − ∇θ c(z̃) for a control variate c of the relaxed codes,
/// with the variance proxy mean(ĝ²) as the auxiliary loss. REBAR and RELAX differ only in c.
public enum LearnedControlVariate {
    /// The noise of one draw, exposed so tests can replay it: b, and z, z̃ as functions of `leaf`.
    public struct Draw<S: TensorScalar> {
        public let leaf: Variable<S>
        public let code: Tensor<S>
        public let z: Variable<S>
        public let conditional: Variable<S>
    }

    /// Draws z, b = H(z) and z̃ | b as differentiable functions of a fresh leaf copy of the logits. The
    /// first draw is exactly `LatentSpec.sample`'s (same stream use), so REBAR at η = 0 replays REINFORCE.
    @_specialize(where S == Float)
    public static func draw<S>(logits: Tensor<S>, latent: LatentSpec, rng: inout RandomStream) -> Draw<S> {
        let leaf = Variable(logits, requiresGradient: true)
        switch latent.family {
        case .bernoulli:
            let z = leaf + Variable(Tensor<S>.logistic(logits.shape, using: &rng))
            let code = z.value.greater(Tensor(0))
            return Draw(leaf: leaf, code: code, z: z,
                        conditional: ConditionalLogistic.sample(logits: leaf, code: code, rng: &rng))
        case .categorical:
            let z = leaf + Variable(Tensor<S>.gumbel(logits.shape, using: &rng))
            let code = Tensor.oneHot(indices: z.value.argmax(), classes: latent.classes)
            return Draw(leaf: leaf, code: code, z: z,
                        conditional: ConditionalGumbel.sample(logits: leaf, code: code, rng: &rng))
        }
    }

    /// - Parameter controlVariate: c for the stacked relaxed codes [2B, ...] (copy 0: σ_λ(z), copy 1:
    ///   σ_λ(z̃)) given f at them [2B]; returns [2B].
    @_specialize(where S == Float)
    public static func estimate<S>(_ context: EstimatorContext<S>, rng: inout RandomStream, logTemperature: Variable<S>,
                                   relaxation: Relaxation,
                                   controlVariate: (_ relaxed: Variable<S>, _ f: Variable<S>) -> Variable<S>) -> Estimate<S> {
        let d: Draw<S> = draw(logits: context.logits.value, latent: context.latent, rng: &rng)
        let shape = context.logits.shape
        let relaxed = relaxation(ScoreFunction.stacked([d.z, d.conditional]), logits: ScoreFunction.repeated(d.leaf, 2),
                                 logTemperature: logTemperature, family: context.latent.family)
        let c = controlVariate(relaxed, context.objective(relaxed))                 // [2B]
        let cZ = ScoreFunction.copy(c, 0, copies: 2), cConditional = ScoreFunction.copy(c, 1, copies: 2)
        let reparameterised = gradients(of: (cZ - cConditional).sum(), wrt: [d.leaf], createGraph: true)[0]
        let f = context.objective(Variable(d.code))                                 // [B], the model's graph
        let score = ScoreFunction.score(of: d.code, logits: d.leaf.value, latent: context.latent)
        let signal = ScoreFunction.perExample(Variable(f.value) - cConditional, like: shape)
        let g = signal * Variable(score) + reparameterised                          // ĝ, in the tuning graph
        let surrogate = f.sum() + (Variable(g.value) * context.logits).sum()
        return Estimate(surrogate: surrogate, objectiveValue: f.value, auxiliaryLoss: g.square().mean())
    }
}
