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

/// The contract between the trainer and every gradient estimator.
///
/// An estimator receives the encoder's logits and the objective f (the per-example loss as a
/// differentiable function of the latent code) and returns a *surrogate*: a scalar whose ordinary
/// gradient, w.r.t. the logits and the decoder's parameters, is the estimate. This one shape fits
///  - straight-through estimators (f at a hard code whose backward is a relaxed Jacobian; `StraightThroughEstimator`),
///  - score-function estimators (f values times ∇log q, with baselines),
///  - REBAR/RELAX (an explicitly computed logit gradient ĝ, injected as sg(ĝ)·logits), whose own
///    parameters are trained through `auxiliaryLoss` by double backprop,
/// so the trainer never changes when an estimator is added.
///
/// An estimator type also states its registry facts, once, as static members: its config `name`, a
/// `summary`, the latent `families` it is defined for, and `make`, which reads its options (each with its
/// default and rule, through `EstimatorOptions`) and the model sizes it needs. `EstimatorRegistry` lists
/// the types; `name` and `supports(_:)` on an instance come from these facts.
public protocol GradientEstimator<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar

    // MARK: Registry facts

    /// The config name, kebab-case (`reinmax-cv`).
    static var name: String { get }
    /// One line for `vae-train estimators` and the README.
    static var summary: String { get }
    /// The latent families the estimator is defined for (the registry rejects the others).
    static var families: Set<LatentFamily> { get }
    /// Builds one from a config's options and the model's sizes. Each option is read once, with its
    /// default and rule (`options.number(…)`, `.integer`, `.choice`, `.temperature`), in the order
    /// `vae-train estimators` lists them; an invalid value throws `EstimatorError.invalidOption`.
    static func make(_ options: EstimatorOptions, sizes: ModelSizes) throws -> Self

    // MARK: Estimation

    /// The estimator's own trainable parameters (empty for most).
    var parameters: [Variable<Scalar>] { get }
    /// Learning-rate multiplier for `parameters` relative to the model's (REBAR/NVIL use 10).
    var parameterLearningRateScale: Scalar { get }
    func estimate(_ context: EstimatorContext<Scalar>, rng: inout RandomStream) -> Estimate<Scalar>
    /// State that must survive a checkpoint (moving-average baselines and the like), as plain numbers.
    var persistentState: [Double] { get set }

    // MARK: Diagnostics

    /// Named numbers about the estimator's own state worth logging (REBAR's `eta` and `log_temperature`);
    /// empty for most.
    var diagnostics: [(name: String, value: Double)] { get }
    /// The parts of a learned control variate at perturbed logits z (for plotting c(z), the RELAX toy's
    /// figure); nil for estimators without one.
    func controlVariateParts(perturbed z: Variable<Scalar>, logits: Variable<Scalar>, family: LatentFamily,
                             objective: (Variable<Scalar>) -> Variable<Scalar>) -> ControlVariateParts<Scalar>?
}

extension GradientEstimator {
    /// The config name (`reinmax-cv`), as in the registry.
    public var name: String { Self.name }
    /// Whether this estimator is defined for a latent family.
    public func supports(_ family: LatentFamily) -> Bool { Self.families.contains(family) }
    public var parameters: [Variable<Scalar>] { [] }
    public var parameterLearningRateScale: Scalar { 10 }
    public var persistentState: [Double] {
        get { [] }
        set {}
    }
    public var diagnostics: [(name: String, value: Double)] { [] }
    public func controlVariateParts(perturbed z: Variable<Scalar>, logits: Variable<Scalar>, family: LatentFamily,
                                    objective: (Variable<Scalar>) -> Variable<Scalar>) -> ControlVariateParts<Scalar>? { nil }

    /// Stops on a latent family the estimator is not defined for (the registry rejects it at `make`;
    /// this catches an estimator built directly).
    func requireSupported(_ latent: LatentSpec) {
        precondition(supports(latent.family), EstimatorError.unsupportedFamily(estimator: name, family: latent.family).description)
    }
}

/// A learned control variate c(z) taken apart at perturbed logits z: the relaxed code σ_λ(z), f there,
/// the learned residual, and c itself.
public struct ControlVariateParts<S: TensorScalar> {
    public let relaxed: Variable<S>
    public let objective: Variable<S>
    public let residual: Variable<S>
    public let total: Variable<S>

    public init(relaxed: Variable<S>, objective: Variable<S>, residual: Variable<S>, total: Variable<S>) {
        self.relaxed = relaxed
        self.objective = objective
        self.residual = residual
        self.total = total
    }
}

// MARK: - The pathwise and straight-through families

/// Estimators whose estimate is the ordinary gradient of f at one code z(θ) built in the graph: the
/// surrogate is Σ_b f_b(z) and the reported objective f(z), so the decoder gets ∇f(z) and the logits what
/// z's backward gives them. Members implement `code(_:rng:)` only: the straight-through family (a hard
/// sample carrying a relaxed Jacobian, `StraightThroughEstimator`; ST-GS, whose hard code and relaxation
/// share one Gumbel draw) and the relaxed Gumbel-softmax (the decoder sees the relaxed sample).
public protocol PathwiseEstimator: GradientEstimator {
    /// The code f is evaluated at, differentiable in `context.logits`; all noise from `rng`.
    func code(_ context: EstimatorContext<Scalar>, rng: inout RandomStream) -> Variable<Scalar>
}

extension PathwiseEstimator {
    public func estimate(_ context: EstimatorContext<Scalar>, rng: inout RandomStream) -> Estimate<Scalar> {
        requireSupported(context.latent)
        let f = context.objective(code(context, rng: &rng))
        return Estimate(surrogate: f.sum(), objectiveValue: f.value)
    }
}

/// Straight-through estimators: forward a hard sample D ~ q (`LatentSpec.sample`), backward the Jacobian
/// of a relaxed surrogate s(θ), through `Variable.straightThrough(value: D, surrogate: s)`. f is evaluated
/// once, at D; a member states only its surrogate (ST, GR-MC, GST and the ReinMax family).
public protocol StraightThroughEstimator: PathwiseEstimator {
    /// The relaxed stand-in for `code` whose Jacobian w.r.t. `logits` is the backward pass. It may draw
    /// more noise (conditional Gumbels) from `rng`, after the sample.
    func surrogate(code: Tensor<Scalar>, logits: Variable<Scalar>, latent: LatentSpec, rng: inout RandomStream) -> Variable<Scalar>
}

extension StraightThroughEstimator {
    public func code(_ context: EstimatorContext<Scalar>, rng: inout RandomStream) -> Variable<Scalar> {
        let code = context.latent.sample(logits: context.logits.value, rng: &rng)
        return Variable.straightThrough(value: code,
                                        surrogate: surrogate(code: code, logits: context.logits, latent: context.latent, rng: &rng))
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
