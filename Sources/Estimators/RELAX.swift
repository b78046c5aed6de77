import Autodiff
import VAE

/// RELAX (Grathwohl, Choi, Wu, Roeder & Duvenaud 2018, arXiv 1711.00123) with the VAE control variate
///   c_φ(z) = f(σ_λ(z)) + r_ρ(2σ_λ(z) − 1),
/// r_ρ a small MLP on the centred relaxed code (the paper's toy feeds r 2σ_λ(z) − 1 too).
///
/// Estimates ∇θ E_q[f(b)]; UNBIASED for every φ = (λ, ρ):
///   ĝ = [f(b) − c_φ(z̃)]·∇θ log q(b) + ∇θ c_φ(z) − ∇θ c_φ(z̃)
/// (the same machinery as REBAR, LearnedControlVariate in REBAR.swift: conditional z̃ differentiable in θ,
/// ĝ built explicitly w.r.t. a leaf copy of the logits with `createGraph: true`, injected as
/// f(b) + Σ sg(ĝ)·logits, so c_φ never reaches the model). φ is trained on `auxiliaryLoss` = mean(ĝ²)
/// by double backprop (mixed θ×φ derivatives only). Both latent families; the relaxation options are
/// REBAR's. r_ρ: `layers` tanh layers of `hidden` units (default 1 × 200; the paper's VAE search used
/// 2–4 ReLU layers of 200, its toy 1 × 10 tanh), initialised from `seed`. Its input width is the code
/// width (N, or L·C), which comes from the model (`ModelSizes.codeWidth`; a config may restate it as
/// `code_width`); codes of another width stop at the first batch with a message.
///
/// Options: `temperature` (initial λ, default 0.5), `relaxation` (default muprop), `hidden`, `layers`,
/// `learning_rate_scale` (default 10), `seed`.
public final class RELAX<S: TensorScalar>: GradientEstimator {
    public static var name: String { "relax" }
    public static var summary: String { "learned control variate f(σ_λ(z)) + r_ρ(z), tuned for variance by double backprop (unbiased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> RELAX {
        // Read in the order `vae-train estimators` lists them.
        let temperature = try options.temperature(default: 0.5)
        let relaxation = try Relaxation.option(options)
        let hidden = try options.integer("hidden", default: 200)
        let layers = try options.integer("layers", default: 1)
        return RELAX(codeWidth: sizes.codeWidth, hidden: hidden, layers: layers, temperature: S(temperature),
                     relaxation: relaxation, learningRateScale: S(try options.learningRateScale()), seed: try options.seed())
    }

    public let codeWidth: Int
    /// r_ρ: [B, code width] -> [B, 1].
    public let network: MLP<S>
    /// log λ, shape [1].
    public let logTemperature: Variable<S>
    public let relaxation: Relaxation
    public let parameterLearningRateScale: S

    public init(codeWidth: Int, hidden: Int = 200, layers: Int = 1, temperature: S = 0.5,
                relaxation: Relaxation = .muprop, learningRateScale: S = 10, seed: UInt64 = 0) {
        precondition(codeWidth >= 1 && hidden >= 1 && layers >= 1 && temperature > 0,
                     "RELAX: code_width, hidden, layers must be >= 1 and temperature > 0")
        var rng = RandomStream(seed: 0x52_454C_4158 &+ seed)
        self.codeWidth = codeWidth
        network = MLP(inputs: codeWidth, hidden: Array(repeating: hidden, count: layers), outputs: 1,
                      activation: .tanh, rng: &rng, name: "relax.r")
        logTemperature = Variable(Tensor(shape: [1], scalars: [S.log(temperature)]), requiresGradient: true,
                                  name: "relax.log_temperature")
        self.relaxation = relaxation
        parameterLearningRateScale = learningRateScale
    }

    public var parameters: [Variable<S>] { [logTemperature] + network.parameters }

    public var diagnostics: [(name: String, value: Double)] { [("log_temperature", Double(logTemperature.value.scalar))] }

    /// r_ρ(2·relaxed − 1) per row, for relaxed codes [R, N] or [R, L, C].
    @_specialize(where S == Float)
    public func residual(_ relaxed: Variable<S>) -> Variable<S> {
        let rows = relaxed.shape[0], width = relaxed.value.count / max(rows, 1)
        precondition(width == codeWidth,
                     "relax: the code has width \(width) but r_ρ expects \(codeWidth); build it with the model's sizes (ModelSizes.codeWidth)")
        return network(relaxed.reshaped([rows, width]) * 2 - 1).reshaped([rows])
    }

    /// c_φ at relaxed codes given f there (what the estimator uses).
    @_specialize(where S == Float)
    public func controlVariate(relaxed: Variable<S>, f: Variable<S>) -> Variable<S> { f + residual(relaxed) }

    /// σ_λ(z), f(σ_λ(z)), r_ρ and c_φ at perturbed logits z (to plot c_φ as a function of z).
    public func controlVariateParts(perturbed z: Variable<S>, logits: Variable<S>, family: LatentFamily,
                                    objective: (Variable<S>) -> Variable<S>) -> ControlVariateParts<S>? {
        let relaxed = relaxation(z, logits: logits, logTemperature: logTemperature, family: family)
        let f = objective(relaxed)
        return ControlVariateParts(relaxed: relaxed, objective: f, residual: residual(relaxed),
                                   total: controlVariate(relaxed: relaxed, f: f))
    }

    @_specialize(where S == Float)
    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        LearnedControlVariate.estimate(context, rng: &rng, logTemperature: logTemperature, relaxation: relaxation) { relaxed, f in
            controlVariate(relaxed: relaxed, f: f)
        }
    }
}
