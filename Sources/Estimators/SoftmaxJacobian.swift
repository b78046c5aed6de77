// The one softmax-Jacobian kernel every straight-through-family estimator is built from.
import Autodiff

/// J(p)·g = p ⊙ g − p (pᵀg) along the last axis: the vector-Jacobian product of softmax, in O(K) per
/// row instead of materialising the K×K matrix diag(p) − ppᵀ. The result sums to zero over classes.
/// Differentiable in both arguments (built from graph ops).
public func softmaxJacobianProduct<S>(_ p: Variable<S>, _ g: Variable<S>) -> Variable<S> {
    p * (g - (p * g).sum(alongAxis: -1, keepingDimensions: true))
}
