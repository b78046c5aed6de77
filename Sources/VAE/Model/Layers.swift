// Dense layers and MLPs over the autodiff graph. Parameters are leaf Variables the optimizers update
// in place between steps.
import Autodiff

/// y = x·W + b with W stored [in, out] so the forward pass is one gemm without a transpose.
public final class Linear<S: TensorScalar> {
    public let weight: Variable<S>
    public let bias: Variable<S>

    /// PyTorch's default initialisation (U(−1/√in, 1/√in) for weight and bias), so learning rates
    /// tuned in the published PyTorch code carry over.
    public init(inputs: Int, outputs: Int, rng: inout RandomStream, name: String = "linear") {
        let bound = S(1) / S(inputs).squareRoot()
        let w = Tensor<S>.uniform([inputs, outputs], using: &rng) * (2 * bound) - bound
        let b = Tensor<S>.uniform([outputs], using: &rng) * (2 * bound) - bound
        weight = Variable(w, requiresGradient: true, name: "\(name).weight")
        bias = Variable(b, requiresGradient: true, name: "\(name).bias")
    }

    public func callAsFunction(_ x: Variable<S>) -> Variable<S> {
        affine(x, weight, bias)
    }

    public var parameters: [Variable<S>] { [weight, bias] }
}

/// Hidden-layer nonlinearity, chosen in the config.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case relu
    case leakyRelu = "leaky-relu"
    case tanh

    public func callAsFunction<S>(_ x: Variable<S>) -> Variable<S> {
        switch self {
        case .relu: return x.relu()
        case .leakyRelu: return x.leakyRelu(slope: 0.01)
        case .tanh: return x.tanh()
        }
    }
}

/// `inputs -> hidden... -> outputs`, the activation between layers and none on the output.
/// An empty `hidden` list gives a linear model (the REBAR/RELAX "linear" benchmarks).
public final class MLP<S: TensorScalar> {
    public let layers: [Linear<S>]
    public let activation: Activation

    public init(inputs: Int, hidden: [Int], outputs: Int, activation: Activation, rng: inout RandomStream, name: String) {
        let sizes = [inputs] + hidden + [outputs]
        var layers: [Linear<S>] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear(inputs: sizes[i], outputs: sizes[i + 1], rng: &rng, name: "\(name).\(i)"))
        }
        self.layers = layers
        self.activation = activation
    }

    public func callAsFunction(_ x: Variable<S>) -> Variable<S> {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = layer(h)
            if i < layers.count - 1 { h = activation(h) }
        }
        return h
    }

    public var parameters: [Variable<S>] { layers.flatMap { $0.parameters } }
}
