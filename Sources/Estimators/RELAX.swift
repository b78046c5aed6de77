// RELAX (Grathwohl, Choi, Wu, Roeder & Duvenaud 2018, arXiv 1711.00123) with the VAE control variate
//   c_φ(z) = f(σ_λ(z)) + r_ρ(2σ_λ(z) − 1),
// r_ρ a small MLP on the centred relaxed code (the paper's toy feeds r 2σ_λ(z) − 1 too).
//
// Estimates ∇θ E_q[f(b)]; UNBIASED for every φ = (λ, ρ):
//   ĝ = [f(b) − c_φ(z̃)]·∇θ log q(b) + ∇θ c_φ(z) − ∇θ c_φ(z̃)
// (the same machinery as REBAR, LearnedControlVariate in REBAR.swift: conditional z̃ differentiable in θ,
// ĝ built explicitly w.r.t. a leaf copy of the logits with `createGraph: true`, injected as
// f(b) + Σ sg(ĝ)·logits, so c_φ never reaches the model). φ is trained on `auxiliaryLoss` = mean(ĝ²)
// by double backprop (mixed θ×φ derivatives only). Both latent families; the relaxation options are
// REBAR's. r_ρ: `layers` tanh layers of `hidden` units (default 1 × 200; the paper's VAE search used
// 2–4 ReLU layers of 200, its toy 1 × 10 tanh), initialised from `seed`. Its input width is the code
// width (N, or L·C), which the registry cannot see: `code_width` (default 200, the binary-VAE
// benchmark) must match, checked at the first batch.
// Options: `temperature` (initial λ, default 0.5), `relaxation` (default muprop), `hidden`, `layers`,
// `code_width`, `learning_rate_scale` (default 10), `seed`.
import Autodiff
import VAE

public enum RELAXDescriptor: EstimatorDescriptor {
    public static let name = "relax"
    public static let summary = "learned control variate f(σ_λ(z)) + r_ρ(z), tuned for variance by double backprop (unbiased)"
    public static let optionKeys = ["temperature", "relaxation", "hidden", "layers", "code_width", "learning_rate_scale", "seed"]
    public static let families: Set<LatentFamily> = [.categorical, .bernoulli]
    public static func make<S: TensorScalar>(_ options: EstimatorOptions, scalar: S.Type) throws -> any GradientEstimator<S> {
        RELAX<S>(codeWidth: try options.integer("code_width", default: 200),
                 hidden: try options.integer("hidden", default: 200),
                 layers: try options.integer("layers", default: 1),
                 temperature: S(try options.temperature(default: 0.5)),
                 relaxation: Relaxation(rawValue: try options.choice("relaxation", default: "muprop",
                                                                     allowed: Relaxation.allCases.map(\.rawValue)))!,
                 learningRateScale: S(try options.number("learning_rate_scale", default: 10, requirement: "must be > 0") { $0 > 0 }),
                 seed: UInt64(try options.integer("seed", default: 0, minimum: 0)))
    }
}

public final class RELAX<S: TensorScalar>: GradientEstimator {
    public let name = RELAXDescriptor.name
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

    /// r_ρ(2·relaxed − 1) per row, for relaxed codes [R, N] or [R, L, C].
    public func residual(_ relaxed: Variable<S>) -> Variable<S> {
        let rows = relaxed.shape[0], width = relaxed.value.count / max(rows, 1)
        precondition(width == codeWidth,
                     "relax: the code has width \(width) but r_ρ expects \(codeWidth); set estimator.code_width = \(width)")
        return network(relaxed.reshaped([rows, width]) * 2 - 1).reshaped([rows])
    }

    /// c_φ at relaxed codes given f there (what the estimator uses; exposed to plot c_φ as a function of z).
    public func controlVariate(relaxed: Variable<S>, f: Variable<S>) -> Variable<S> { f + residual(relaxed) }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        LearnedControlVariate.estimate(context, rng: &rng, logTemperature: logTemperature, relaxation: relaxation) { relaxed, f in
            controlVariate(relaxed: relaxed, f: f)
        }
    }
}
