// The contract between the trainer and every gradient estimator.
//
// An estimator receives the encoder's logits and the objective f (the per-example loss as a
// differentiable function of the latent code) and returns a *surrogate*: a scalar whose ordinary
// gradient, w.r.t. the logits and the decoder's parameters, is the estimate. This one shape fits
//  - straight-through estimators (f at a hard code whose backward is a relaxed Jacobian),
//  - score-function estimators (f values times ∇log q, with baselines),
//  - REBAR/RELAX (an explicitly computed logit gradient ĝ, injected as sg(ĝ)·logits), whose own
//    parameters are trained through `auxiliaryLoss` by double backprop,
// so the trainer never changes when an estimator is added.
import Autodiff
import VAE

/// Everything an estimator may use for one batch.
public struct EstimatorContext<S: TensorScalar> {
    /// Encoder logits [B, L, C] (categorical) or [B, N] (Bernoulli), in the graph.
    public let logits: Variable<S>
    public let latent: LatentSpec
    /// f(z) per row: z is [R·B, L, C] or [R·B, N] (R stacked copies of the batch, R ≥ 1), result [R·B].
    /// Row r·B + b pairs with example b. f is minimised (e.g. −log p(x|z)).
    public let objective: (Variable<S>) -> Variable<S>
    /// The batch inputs [B, D], for input-dependent baselines (NVIL); nil where there are none.
    public let inputs: Tensor<S>?

    public init(logits: Variable<S>, latent: LatentSpec, inputs: Tensor<S>? = nil,
                objective: @escaping (Variable<S>) -> Variable<S>) {
        self.logits = logits
        self.latent = latent
        self.objective = objective
        self.inputs = inputs
    }

    public var batchSize: Int { logits.shape[0] }
}

public struct Estimate<S: TensorScalar> {
    /// Σ over the batch of per-example surrogates. ∂surrogate/∂logits[b] estimates ∂E_q[f_b]/∂logits[b];
    /// ∂surrogate/∂decoder estimates ∂E_q[Σ_b f_b]/∂decoder.
    public var surrogate: Variable<S>
    /// f at the sampled code(s), per example [B] (averaged over samples for multi-sample estimators).
    public var objectiveValue: Tensor<S>
    /// A loss over the estimator's own `parameters` (baselines, temperatures, control variates);
    /// the trainer minimises it with a separate optimizer. Nil for estimators without parameters.
    public var auxiliaryLoss: Variable<S>?
    /// True when the surrogate already contains the KL/prior terms (multi-sample bounds like VIMCO),
    /// so the trainer must not add the analytic KL again.
    public var includesKL: Bool

    public init(surrogate: Variable<S>, objectiveValue: Tensor<S>, auxiliaryLoss: Variable<S>? = nil,
                includesKL: Bool = false) {
        self.surrogate = surrogate
        self.objectiveValue = objectiveValue
        self.auxiliaryLoss = auxiliaryLoss
        self.includesKL = includesKL
    }
}

public protocol GradientEstimator<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The config name (`reinmax-cv`), as in the registry.
    var name: String { get }
    /// The estimator's own trainable parameters (empty for most).
    var parameters: [Variable<Scalar>] { get }
    /// Learning-rate multiplier for `parameters` relative to the model's (REBAR/NVIL use 10).
    var parameterLearningRateScale: Scalar { get }
    /// Whether this estimator is defined for a latent family.
    func supports(_ family: LatentFamily) -> Bool
    func estimate(_ context: EstimatorContext<Scalar>, rng: inout RandomStream) -> Estimate<Scalar>
    /// State that must survive a checkpoint (moving-average baselines and the like), as plain numbers.
    var persistentState: [Double] { get set }
}

extension GradientEstimator {
    public var parameters: [Variable<Scalar>] { [] }
    public var parameterLearningRateScale: Scalar { 10 }
    public func supports(_ family: LatentFamily) -> Bool { true }
    public var persistentState: [Double] {
        get { [] }
        set {}
    }
}

// MARK: - Errors

public enum EstimatorError: Error, CustomStringConvertible, Equatable {
    case unknownEstimator(String, known: [String])
    case unknownOption(estimator: String, key: String, allowed: [String])
    case invalidOption(estimator: String, key: String, value: String, requirement: String)
    case unsupportedFamily(estimator: String, family: LatentFamily)

    public var description: String {
        switch self {
        case let .unknownEstimator(name, known):
            return "unknown estimator '\(name)'; available: \(known.joined(separator: ", "))"
        case let .unknownOption(estimator, key, allowed):
            return "estimator '\(estimator)' has no option '\(key)'; allowed: \(allowed.isEmpty ? "(none)" : allowed.joined(separator: ", "))"
        case let .invalidOption(estimator, key, value, requirement):
            return "estimator.\(key) = \(value) is invalid for '\(estimator)': \(requirement)"
        case let .unsupportedFamily(estimator, family):
            return "estimator '\(estimator)' is not defined for \(family.rawValue) latents"
        }
    }
}
