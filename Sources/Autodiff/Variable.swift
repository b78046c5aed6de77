// The differentiation graph. A Variable is an immutable node: a value, its inputs and a backward rule.
// Backward rules are written with the same differentiable ops as the forward pass, so running them
// while recording (`createGraph: true`) yields gradients that can themselves be differentiated —
// what REBAR and RELAX need to tune their control variates by double backprop.

import Synchronization

/// Maps the upstream gradient of a node to gradients for its inputs. It receives the node itself
/// (its value and inputs) instead of capturing it, so no node ever references itself: a finished
/// graph is freed as soon as the last Variable of it goes away. `needed[i]` is false for inputs whose
/// gradient nobody asked for, so a rule can skip that work (e.g. a weight gradient).
public typealias BackwardRule<S: TensorScalar> = (_ upstream: Variable<S>, _ node: Variable<S>, _ needed: [Bool]) -> [Variable<S>?]

public final class Variable<S: TensorScalar>: @unchecked Sendable, CustomStringConvertible {
    /// The value. Leaves (parameters) may be updated in place by optimizers between steps.
    public var value: Tensor<S>
    public let inputs: [Variable<S>]
    let rule: BackwardRule<S>?
    /// True if gradients can flow to this node (a trainable leaf, or computed from one while recording).
    public let requiresGradient: Bool
    public let name: String?

    /// A leaf: a parameter (`requiresGradient: true`) or a constant.
    public init(_ value: Tensor<S>, requiresGradient: Bool = false, name: String? = nil) {
        self.value = value
        self.inputs = []
        self.rule = nil
        self.requiresGradient = requiresGradient
        self.name = name
        Variable.countLive(+1)
    }

    init(value: Tensor<S>, inputs: [Variable<S>], rule: @escaping BackwardRule<S>) {
        self.value = value
        self.inputs = inputs
        self.rule = rule
        self.requiresGradient = true
        self.name = nil
        Variable.countLive(+1)
    }

    deinit { Variable.countLive(-1) }

    public convenience init(_ scalar: S) { self.init(Tensor(scalar)) }

    public var shape: [Int] { value.shape }
    public var description: String { "Variable(\(name ?? "")\(value))" }

    /// A constant with the same value: gradients stop here (PyTorch's `detach`, JAX's `stop_gradient`).
    public func detached() -> Variable { Variable(value) }

    /// Records an op's result if recording is on and any input can carry a gradient; otherwise returns
    /// a constant, so inference and `createGraph: false` backward passes build no graph at all.
    static func record(_ value: Tensor<S>, _ inputs: [Variable<S>], _ rule: @escaping BackwardRule<S>) -> Variable<S> {
        // A closure, not `\.requiresGradient`: in generic code a key path is instantiated at run time on
        // every call, which cost ~15% of a REBAR step.
        if GradientTape.isRecording && inputs.contains(where: { $0.requiresGradient }) {
            return Variable(value: value, inputs: inputs, rule: rule)
        }
        return Variable(value)
    }

    // MARK: Live-node accounting (the leak test reads it)

    private static func countLive(_ delta: Int) {
        liveVariableCount.add(delta, ordering: .relaxed)
    }
}

/// Number of Variables alive in the process (all scalar types). A finished step must return it to
/// where it started; the leak test checks exactly that.
public var liveVariables: Int { liveVariableCount.load(ordering: .relaxed) }
private let liveVariableCount = Atomic<Int>(0)

/// Whether ops record graph nodes. Task-local, so concurrent tests and tasks do not interfere.
public enum GradientTape {
    @TaskLocal public static var isRecording = true
}

/// Runs `body` without recording a graph (evaluation, optimizer updates, estimator bookkeeping).
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientTape.$isRecording.withValue(false, operation: body)
}

// MARK: - Reverse mode

/// Gradients of `output` with respect to each of `inputs`, as Variables.
///
/// - Parameters:
///   - seed: the upstream gradient (vector in a vector-Jacobian product); defaults to ones, i.e. the
///     gradient of `sum(output)`.
///   - createGraph: record the backward pass so the returned gradients can be differentiated again
///     (needed for double backprop). With `false` the results are constants and no graph is kept.
/// - Returns: one gradient per input, zeros where `output` does not depend on it.
@_specialize(exported: true, where S == Float)
@_specialize(exported: true, where S == Double)
@_specialize(where S == Float)
@_specialize(where S == Double)
public func gradients<S>(of output: Variable<S>, wrt inputs: [Variable<S>], seed: Variable<S>? = nil,
                         createGraph: Bool = false) -> [Variable<S>] {
    let targets = Set(inputs.map(ObjectIdentifier.init))
    // Topological order (inputs before users) over nodes that can carry a gradient, by iterative DFS.
    var order: [Variable<S>] = []
    var visited: Set<ObjectIdentifier> = []
    var relevant: Set<ObjectIdentifier> = []  // nodes from which some target is reachable
    var stack: [(Variable<S>, Bool)] = [(output, false)]
    while let (node, expanded) = stack.popLast() {
        let id = ObjectIdentifier(node)
        if expanded {
            order.append(node)
            if targets.contains(id) || node.inputs.contains(where: { relevant.contains(ObjectIdentifier($0)) }) {
                relevant.insert(id)
            }
            continue
        }
        if visited.contains(id) || !node.requiresGradient { continue }
        visited.insert(id)
        stack.append((node, true))
        for input in node.inputs where input.requiresGradient && !visited.contains(ObjectIdentifier(input)) {
            stack.append((input, false))
        }
    }

    var grads: [ObjectIdentifier: Variable<S>] = [:]
    GradientTape.$isRecording.withValue(createGraph) {
        if relevant.contains(ObjectIdentifier(output)) {
            grads[ObjectIdentifier(output)] = seed ?? Variable(Tensor(ones: output.shape))
        }
        for node in order.reversed() {
            let id = ObjectIdentifier(node)
            guard relevant.contains(id), let upstream = grads[id], let rule = node.rule else { continue }
            // A target that is also an interior node keeps its gradient; its inputs still get theirs.
            let needed = node.inputs.map { $0.requiresGradient && relevant.contains(ObjectIdentifier($0)) }
            let inputGrads = rule(upstream, node, needed)
            for (index, input) in node.inputs.enumerated() where needed[index] {
                guard let g = inputGrads[index] else { continue }
                precondition(g.shape == input.shape,
                             "backward rule returned gradient of shape \(g.shape) for input of shape \(input.shape)")
                let key = ObjectIdentifier(input)
                grads[key] = grads[key].map { $0 + g } ?? g
            }
            if !targets.contains(id) { grads[id] = nil }  // free intermediate gradients early
        }
    }
    return inputs.map { grads[ObjectIdentifier($0)] ?? Variable(Tensor(zeros: $0.shape)) }
}

/// Convenience: gradient values (no graph) of a scalar loss.
public func gradientValues<S>(of output: Variable<S>, wrt inputs: [Variable<S>]) -> [Tensor<S>] {
    gradients(of: output, wrt: inputs).map { $0.value }
}
