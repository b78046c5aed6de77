import Autodiff
import VAE

/// NVIL: REINFORCE with an input-dependent learned baseline (Mnih & Gregor 2014, arXiv 1402.0030).
///
/// Estimates ∇θ E_q[f(z)] by (f(x, z) − C_ψ(x))·∇θ log q(z|x); UNBIASED for any ψ, because C_ψ(x) does not
/// depend on the sample. One evaluation of f per example. Both latent families.
/// The baseline C_ψ is an MLP on the raw batch inputs x [B, D] (D = `input_size`) with one tanh hidden
/// layer, trained by the trainer on `auxiliaryLoss` = mean_b (f_b − C_ψ(x_b))² (the squared learning
/// signal) with its own Adam at `learning_rate_scale` × the model's learning rate (TF REBAR's NVIL:
/// 100 tanh units, 10×). Simplifications, stated: inputs are not centred by the training mean and the
/// learning signal is not variance-normalised (TF REBAR does neither normalisation either).
/// Without inputs in the context (unit tests) the network sees zeros, i.e. the baseline is a learned
/// constant.
///
/// Options: `hidden` (default 100), `learning_rate_scale` (default 10), `seed` (default 0). The input
/// width D comes from the model (`ModelSizes.inputSize`; a config may restate it as `input_size`); inputs of
/// another width stop at the first batch with a message.
public final class NVIL<S: TensorScalar>: GradientEstimator {
    public static var name: String { "nvil" }
    public static var summary: String { "REINFORCE with a learned input-dependent baseline MLP (unbiased)" }
    public static var families: Set<LatentFamily> { [.categorical, .bernoulli] }
    public static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> NVIL {
        // Read in the order `vae-train estimators` lists them.
        let hidden = try options.integer("hidden", default: 100)
        return NVIL(inputSize: sizes.inputSize, hidden: hidden,
                    learningRateScale: S(try options.learningRateScale()), seed: try options.seed())
    }

    public let inputSize: Int
    /// C_ψ: x [B, D] -> [B, 1].
    public let baseline: MLP<S>
    public let parameterLearningRateScale: S

    public init(inputSize: Int, hidden: Int = 100, learningRateScale: S = 10, seed: UInt64 = 0) {
        precondition(inputSize >= 1 && hidden >= 1, "NVIL: input_size and hidden must be >= 1")
        var rng = RandomStream(seed: 0x4E56_494C &+ seed)
        self.inputSize = inputSize
        baseline = MLP(inputs: inputSize, hidden: [hidden], outputs: 1, activation: .tanh, rng: &rng, name: "nvil.baseline")
        parameterLearningRateScale = learningRateScale
    }

    public var parameters: [Variable<S>] { baseline.parameters }

    public func estimate(_ context: EstimatorContext<S>, rng: inout RandomStream) -> Estimate<S> {
        let batch = context.batchSize
        let x = context.inputs ?? Tensor(zeros: [batch, inputSize])
        precondition(x.shape == [batch, inputSize],
                     "nvil: inputs have shape \(x.shape) but the baseline expects [\(batch), \(inputSize)]; build it with the model's sizes (ModelSizes.inputSize)")
        let code = context.latent.sample(logits: context.logits.value, rng: &rng)
        let f = context.objective(Variable(code))
        let c = baseline(Variable(x)).reshaped([batch])
        let logQ = context.latent.logProbability(of: code, logits: context.logits)
        let signal = Variable(f.value - c.value)
        let surrogate = f.sum() + (signal * logQ).sum()
        let auxiliary = (f.detached() - c).square().mean()
        return Estimate(surrogate: surrogate, objectiveValue: f.value, auxiliaryLoss: auxiliary)
    }
}
