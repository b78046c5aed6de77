// Shared pieces of the score-function family (REINFORCE, NVIL, RLOO, VIMCO, MuProp, REBAR, RELAX,
// ARM, DisARM): the analytic score ∇_logits log q(code), stacking M copies of a batch the way
// `EstimatorContext.objective` expects (row m·B + b pairs with example b), and taking the copies
// apart again. No estimator logic lives here.
import Autodiff
import VAE

enum ScoreFunction {
    /// ∂ log q(code) / ∂ logits as a constant of the logits' shape: `b − σ(a)` for Bernoulli units,
    /// `D − softmax θ` for categorical variables.
    static func score<S>(of code: Tensor<S>, logits: Tensor<S>, latent: LatentSpec) -> Tensor<S> {
        latent.family == .categorical ? code - logits.softmax() : code - logits.sigmoid()
    }

    /// A per-example quantity [B] shaped to broadcast against logits [B, N] or [B, L, C].
    static func perExample<S>(_ x: Variable<S>, like logits: [Int]) -> Variable<S> {
        x.reshaped([x.shape[0]] + Array(repeating: 1, count: logits.count - 1))
    }

    static func perExample<S>(_ x: Tensor<S>, like logits: [Int]) -> Tensor<S> {
        x.reshaped([x.shape[0]] + Array(repeating: 1, count: logits.count - 1))
    }

    /// M copies in the graph: [B, ...] -> [M·B, ...], row m·B + b = x[b].
    static func repeated<S>(_ x: Variable<S>, _ copies: Int) -> Variable<S> {
        let rest = Array(x.shape.dropFirst()), batch = x.shape[0]
        return x.reshaped([1, batch] + rest).expanded(to: [copies, batch] + rest).reshaped([copies * batch] + rest)
    }

    /// Concatenation along the batch axis of equally shaped parts, in the graph: [B, ...] each -> [M·B, ...].
    static func stacked<S>(_ parts: [Variable<S>]) -> Variable<S> {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.shape == parts[0].shape },
                     "stacked: parts must share a shape, got \(parts.map(\.shape))")
        return Variable.concatenated(parts)
    }

    /// Concatenation of constant tensors along the batch axis.
    static func stacked<S>(_ parts: [Tensor<S>]) -> Tensor<S> {
        precondition(!parts.isEmpty && parts.allSatisfy { $0.shape == parts[0].shape },
                     "stacked: parts must share a shape, got \(parts.map(\.shape))")
        return Tensor.concatenated(parts)
    }

    /// Copy `index` of a stacked per-row quantity [M·B] as [B], in the graph.
    static func copy<S>(_ x: Variable<S>, _ index: Int, copies: Int) -> Variable<S> {
        let batch = x.shape[0] / copies
        return x.sliced(rows: (index * batch)..<((index + 1) * batch))
    }

    /// Per-row values of a [M·B] tensor as M arrays of B doubles.
    static func copies<S>(_ x: Tensor<S>, _ m: Int) -> [[Double]] {
        let values = x.scalars.map { Double($0) }, batch = values.count / m
        return (0..<m).map { Array(values[($0 * batch)..<(($0 + 1) * batch)]) }
    }
}
