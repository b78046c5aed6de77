// Adam and RAdam with PyTorch's update rules (torch.optim.Adam / RAdam, weight_decay = 0), so learning
// rates from the published PyTorch experiments mean the same thing here. State is Codable for
// checkpoints; updates run in place over unsafe buffers, one tight loop per parameter tensor.
import Autodiff
import CKernels

public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    case adam, radam, sgd
}

public struct OptimizerState<S: TensorScalar>: Codable {
    public var step: Int
    public var firstMoments: [Tensor<S>]
    public var secondMoments: [Tensor<S>]

    public init(step: Int, firstMoments: [Tensor<S>], secondMoments: [Tensor<S>]) {
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}

public final class Optimizer<S: TensorScalar> {
    public let kind: OptimizerKind
    public var learningRate: S
    public let beta1: S, beta2: S, epsilon: S
    public private(set) var state: OptimizerState<S>
    private static var placeholder: Tensor<S> { Tensor(zeros: [0]) }

    public init(kind: OptimizerKind, parameters: [Variable<S>], learningRate: S,
                beta1: S = 0.9, beta2: S = 0.999, epsilon: S = 1e-8) {
        self.kind = kind
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        state = OptimizerState(step: 0,
                               firstMoments: parameters.map { Tensor(zeros: $0.shape) },
                               secondMoments: parameters.map { Tensor(zeros: $0.shape) })
    }

    /// Restores a checkpointed state; shapes must match the parameters'.
    public func restore(_ saved: OptimizerState<S>) throws {
        guard saved.firstMoments.map(\.shape) == state.firstMoments.map(\.shape),
              saved.secondMoments.map(\.shape) == state.secondMoments.map(\.shape) else {
            throw OptimizerError.stateMismatch
        }
        state = saved
    }

    /// One update of every parameter with its gradient (same order as at construction). Returns false if
    /// a gradient held NaN or ±inf — checked in the update's own pass; the update has run regardless, so a
    /// caller stops (as the trainer does) rather than continue from the damaged parameters.
    /// Pre-specialised: called from other modules, the generic body would dispatch every `*` through a
    /// witness table (~20x slower).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    @discardableResult
    public func step(_ parameters: [Variable<S>], gradients: [Tensor<S>]) -> Bool {
        var finite = true
        precondition(parameters.count == gradients.count && parameters.count == state.firstMoments.count,
                     "optimizer has \(state.firstMoments.count) slots, got \(parameters.count) parameters and \(gradients.count) gradients")
        state.step += 1
        let t = S(state.step)
        let bias1 = 1 - S.pow(beta1, t), bias2 = 1 - S.pow(beta2, t)
        // RAdam's variance rectification (Liu et al. 2020), as in torch.optim.RAdam.
        let rhoInf = 2 / (1 - beta2) - 1
        let rho = rhoInf - 2 * t * S.pow(beta2, t) / bias2
        let rectified = kind == .radam && rho > 5
        let rect = rectified
            ? ((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho)).squareRoot() : 1
        let (lr, b1, b2, eps, kind) = (learningRate, beta1, beta2, epsilon, self.kind)

        for index in parameters.indices {
            let grad = gradients[index]
            precondition(grad.shape == parameters[index].shape,
                         "gradient \(grad.shape) for parameter \(parameters[index].shape)")
            // Move the moments out of `state` while updating them: two nested in-place accesses to
            // one stored property are an exclusivity violation, and a copy would defeat in-place updates.
            var firstMoment = state.firstMoments[index], secondMoment = state.secondMoments[index]
            state.firstMoments[index] = Optimizer.placeholder
            state.secondMoments[index] = Optimizer.placeholder
            grad.withUnsafeBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        parameters[index].value.withUnsafeMutableBufferPointer { p in
                            let (p, g, m, v, n) = (p.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, p.count)
                            let ok: Bool
                            switch kind {
                            case .sgd:
                                ok = sgdUpdate(p, g, n, lr: lr)
                            case .adam:
                                ok = adamUpdate(p, g, m, v, n, stepSize: lr / bias1, beta1: b1, beta2: b2,
                                                sqrtBias2: bias2.squareRoot(), epsilon: eps)
                            case .radam:
                                ok = radamUpdate(p, g, m, v, n, lr: lr, bias1: bias1, beta1: b1, beta2: b2,
                                                 rectification: rectified ? rect * bias2.squareRoot() : nil, epsilon: eps)
                            }
                            finite = finite && ok
                        }
                    }
                }
            }
            state.firstMoments[index] = firstMoment
            state.secondMoments[index] = secondMoment
        }
        return finite
    }
}

// MARK: - Update kernels
// One pass per parameter tensor in CKernels (AVX-512F / AVX2 / scalar, chosen at run time), rounding
// each operation separately (no fused multiply-add), so every path gives the bits the plain loops gave.

func sgdUpdate<S: TensorScalar>(_ p: UnsafeMutablePointer<S>, _ g: UnsafePointer<S>, _ n: Int, lr: S) -> Bool {
    for i in 0..<n { p[i] -= lr * g[i] }
    return S._allFiniteKernel(g, n)
}

func adamUpdate<S: TensorScalar>(_ p: UnsafeMutablePointer<S>, _ g: UnsafePointer<S>, _ m: UnsafeMutablePointer<S>,
                                 _ v: UnsafeMutablePointer<S>, _ n: Int, stepSize: S, beta1: S, beta2: S,
                                 sqrtBias2: S, epsilon: S) -> Bool {
    let inverseSqrtBias2 = 1 / sqrtBias2
    return Parallel.allChunks(n) { r in
        let (p, g, m, v, n) = (p + r.lowerBound, g + r.lowerBound, m + r.lowerBound, v + r.lowerBound, r.count)
        if S.self == Float.self {
            return dg_adam_f32(p.cast(), g.cast(), m.cast(), v.cast(), n, Float(stepSize), Float(beta1), Float(beta2),
                               Float(inverseSqrtBias2), Float(epsilon)) != 0
        } else {
            return dg_adam_f64(p.cast(), g.cast(), m.cast(), v.cast(), n, Double(stepSize), Double(beta1), Double(beta2),
                               Double(inverseSqrtBias2), Double(epsilon)) != 0
        }
    }
}

/// RAdam; `rectification` = r_t·√(1−β₂ᵗ) once the variance is tractable (ρ_t > 5), else nil (SGD
/// with momentum), as in torch.optim.RAdam.
func radamUpdate<S: TensorScalar>(_ p: UnsafeMutablePointer<S>, _ g: UnsafePointer<S>, _ m: UnsafeMutablePointer<S>,
                                  _ v: UnsafeMutablePointer<S>, _ n: Int, lr: S, bias1: S, beta1: S, beta2: S,
                                  rectification: S?, epsilon: S) -> Bool {
    let scale = lr / bias1, rectified: Int32 = rectification == nil ? 0 : 1, rect = rectification ?? 0
    return Parallel.allChunks(n) { r in
        let (p, g, m, v, n) = (p + r.lowerBound, g + r.lowerBound, m + r.lowerBound, v + r.lowerBound, r.count)
        if S.self == Float.self {
            return dg_radam_f32(p.cast(), g.cast(), m.cast(), v.cast(), n, Float(scale), Float(beta1), Float(beta2),
                                rectified, Float(rect), Float(epsilon)) != 0
        } else {
            return dg_radam_f64(p.cast(), g.cast(), m.cast(), v.cast(), n, Double(scale), Double(beta1), Double(beta2),
                                rectified, Double(rect), Double(epsilon)) != 0
        }
    }
}

extension UnsafeMutablePointer {
    /// The same address as another element type (the optimizer's scalar is Float or Double).
    func cast<T>() -> UnsafeMutablePointer<T> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: T.self) }
}
extension UnsafePointer {
    func cast<T>() -> UnsafePointer<T> { UnsafeRawPointer(self).assumingMemoryBound(to: T.self) }
}

public enum OptimizerError: Error, CustomStringConvertible {
    case stateMismatch
    public var description: String { "optimizer state in the checkpoint does not match the model's parameter shapes" }
}

/// Scales gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_).
/// Returns the norm before clipping.
@discardableResult
@_specialize(where S == Float)
public func clipGradientNorm<S>(_ gradients: inout [Tensor<S>], maxNorm: S) -> S {
    var total: S = 0
    for g in gradients { g.withUnsafeBufferPointer { for x in $0 { total += x * x } } }
    let norm = total.squareRoot()
    if norm > maxNorm {
        let scale = maxNorm / (norm + 1e-6)
        gradients = gradients.map { $0 * scale }
    }
    return norm
}
