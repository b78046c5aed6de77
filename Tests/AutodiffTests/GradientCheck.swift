// Gradient-checking helpers: directional central differences for first order (gradcheck) and for the
// gradient of the backward pass (gradgradcheck), all in Float64.
import Autodiff
import TestSupport
import XCTest

typealias DiffOp = ([Variable<Double>]) -> Variable<Double>

// MARK: - Tolerances

/// Step of the central differences (Float64).
let checkStep = 1e-6

/// Relative tolerance: |analytic − numeric| ≤ 1e-6 · max(1, |analytic|, |numeric|), the shared
/// `FiniteDifference.relativeTolerance` (TestSupport), whose reasoning this is for this file's step.
///
/// Why this is tight enough to catch a wrong factor in any backward rule: the central difference has
/// truncation error ε²·φ'''/6 ≈ 1e-12 and rounding error ≈ 1e-16·|φ|/ε ≈ 1e-10 for the small, O(1)
/// inputs used here, both four or more orders below 1e-6. A rule that is off by a factor of 2 (or
/// has a wrong sign, or a missing broadcast sum) changes vᵀJu by about its own magnitude, and every
/// check also asserts |vᵀJu| > `nontrivialThreshold`, so such an error is at least 1e-3 ≫ 1e-6.
let gradientTolerance = FiniteDifference.relativeTolerance

/// A directional derivative this small could hide a wrong factor, so checks expecting a nonzero
/// derivative require it to be larger than this.
let nontrivialThreshold = 1e-3

/// Checks expecting an (a.e.) zero derivative require both sides below this.
let zeroThreshold = 1e-6

// MARK: - Random inputs

/// How a test input is drawn.
enum Domain {
    /// U(lo, hi).
    case uniform(Double, Double)
    /// ±U(lo, hi) with a random sign: keeps kinks (relu, abs) and poles (1/x) out of reach of ±ε.
    case awayFromZero(Double, Double)
}

func randomTensor(_ shape: [Int], _ domain: Domain, _ rng: inout RandomStream) -> Tensor<Double> {
    let n = shape.reduce(1, *)
    let scalars: [Double] = (0..<n).map { _ in
        switch domain {
        case let .uniform(lo, hi):
            return lo + (hi - lo) * rng.nextUnit()
        case let .awayFromZero(lo, hi):
            let magnitude = lo + (hi - lo) * rng.nextUnit()
            return rng.next() & 1 == 0 ? magnitude : -magnitude
        }
    }
    return Tensor(shape: shape, scalars: scalars)
}

/// Direction and weight vectors (u, v, w): entries of magnitude 0.5...1.5 and random sign.
func randomDirection(_ shape: [Int], _ rng: inout RandomStream) -> Tensor<Double> {
    randomTensor(shape, .awayFromZero(0.5, 1.5), &rng)
}

func dot(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
    precondition(a.shape == b.shape, "dot: \(a.shape) vs \(b.shape)")
    var total = 0.0
    for i in 0..<a.count { total += a[flat: i] * b[flat: i] }
    return total
}

/// A stable seed from a name (String.hashValue is randomised per process).
func stableSeed(_ name: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return h
}

// MARK: - Results

struct GradientCheckResult: CustomStringConvertible {
    /// What was checked, e.g. "exp: d/dinput0" or "exp: d²/dinput0".
    let label: String
    let analytic: Double
    let numeric: Double
    /// False where the derivative is zero (a.e.): both sides must then be ~0.
    let expectNonzero: Bool

    var relativeError: Double { Swift.abs(analytic - numeric) / Swift.max(1, Swift.abs(analytic), Swift.abs(numeric)) }
    var matches: Bool { relativeError <= gradientTolerance }
    var passed: Bool {
        guard matches else { return false }
        return expectNonzero
            ? Swift.abs(analytic) > nontrivialThreshold
            : Swift.abs(analytic) <= zeroThreshold && Swift.abs(numeric) <= zeroThreshold
    }

    var description: String {
        "\(label): analytic \(analytic), numeric \(numeric), relative error \(relativeError)"
            + (expectNonzero ? "" : " (expected zero)")
    }
}

func assertPassed(_ results: [GradientCheckResult], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(results.isEmpty, "no checks ran", file: file, line: line)
    for r in results {
        XCTAssertTrue(r.passed, r.description, file: file, line: line)
    }
}

// MARK: - First order

/// Compares vᵀJu from reverse mode with central differences of φ(x) = vᵀf(x), perturbing each input
/// separately. `reference` (if given) is the function whose finite differences the gradient must
/// match, for ops whose value and gradient deliberately disagree (straight-through, detach).
func checkGradients(op: @escaping DiffOp, inputs: [Tensor<Double>], reference: DiffOp? = nil,
                    expectNonzero: Bool = true, label: String = "op", seed: UInt64 = 1) -> [GradientCheckResult] {
    var rng = RandomStream(seed: seed)
    let xs = inputs.map { Variable($0, requiresGradient: true) }
    let y = op(xs)
    let v = randomDirection(y.shape, &rng)
    let grads = gradients(of: (y * Variable(v)).sum(), wrt: xs)
    let numericOp = reference ?? op
    func phi(_ values: [Tensor<Double>]) -> Double {
        withoutGradients { dot(numericOp(values.map { Variable($0) }).value, v) }
    }
    return inputs.indices.map { i in
        let u = randomDirection(inputs[i].shape, &rng)
        var plus = inputs, minus = inputs
        plus[i] = inputs[i] + u * checkStep
        minus[i] = inputs[i] - u * checkStep
        let numeric = (phi(plus) - phi(minus)) / (2 * checkStep)
        return GradientCheckResult(label: "\(label): d/dinput\(i)", analytic: dot(grads[i].value, u),
                                   numeric: numeric, expectNonzero: expectNonzero)
    }
}

func assertGradients(op: @escaping DiffOp, inputs: [Tensor<Double>], reference: DiffOp? = nil, expectNonzero: Bool = true,
                     label: String = "op", seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line) {
    assertPassed(checkGradients(op: op, inputs: inputs, reference: reference, expectNonzero: expectNonzero,
                                label: label, seed: seed), file: file, line: line)
}

// MARK: - Second order (gradgradcheck)

/// Whether the second derivatives w.r.t. the inputs are nonzero, or zero almost everywhere (linear ops,
/// and piecewise-linear ones away from their kinks).
enum SecondOrder { case nonzero, zero }

/// The gradgradcheck construction. With the upstream v a Variable (requiresGradient) seeding a
/// recorded first backward, h(x, v) = Σᵢ uᵢ·∇ᵢ(vᵀf)(x) is a differentiable function of both the inputs
/// and the upstream. Its reverse-mode gradient, dotted with a direction w, is compared with central
/// differences of h, where each h evaluation runs a plain (unrecorded) backward pass. This tests the
/// backward rules' own backward rules, including the cross terms between inputs (e.g. ∂²(a·b)/∂a∂b).
/// w.r.t. the upstream the derivative is J·u, nonzero whenever the op's Jacobian is.
func checkSecondOrder(op: DiffOp, inputs: [Tensor<Double>], expect: SecondOrder,
                      label: String = "op", seed: UInt64 = 2) -> [GradientCheckResult] {
    var rng = RandomStream(seed: seed)
    let xs = inputs.map { Variable($0, requiresGradient: true) }
    let y = op(xs)
    let v = randomDirection(y.shape, &rng)
    let us = inputs.map { randomDirection($0.shape, &rng) }
    let upstream = Variable(v, requiresGradient: true)
    let firstGrads = gradients(of: y, wrt: xs, seed: upstream, createGraph: true)
    let terms = zip(firstGrads, us).map { ($0 * Variable($1)).sum() }
    let h = terms.dropFirst().reduce(terms[0], +)
    let secondGrads = gradients(of: h, wrt: xs + [upstream])

    func hValue(_ values: [Tensor<Double>], _ upstreamValue: Tensor<Double>) -> Double {
        let leaves = values.map { Variable($0, requiresGradient: true) }
        let g = gradients(of: op(leaves), wrt: leaves, seed: Variable(upstreamValue))
        return zip(g, us).map { dot($0.value, $1) }.reduce(0, +)
    }

    var results: [GradientCheckResult] = inputs.indices.map { j in
        let w = randomDirection(inputs[j].shape, &rng)
        var plus = inputs, minus = inputs
        plus[j] = inputs[j] + w * checkStep
        minus[j] = inputs[j] - w * checkStep
        let numeric = (hValue(plus, v) - hValue(minus, v)) / (2 * checkStep)
        return GradientCheckResult(label: "\(label): d²/dinput\(j)", analytic: dot(secondGrads[j].value, w),
                                   numeric: numeric, expectNonzero: expect == .nonzero)
    }
    let w = randomDirection(v.shape, &rng)
    let numeric = (hValue(inputs, v + w * checkStep) - hValue(inputs, v - w * checkStep)) / (2 * checkStep)
    results.append(GradientCheckResult(label: "\(label): d²/dupstream", analytic: dot(secondGrads[inputs.count].value, w),
                                       numeric: numeric, expectNonzero: true))
    return results
}

func assertSecondOrder(op: DiffOp, inputs: [Tensor<Double>], expect: SecondOrder, label: String = "op",
                       seed: UInt64 = 2, file: StaticString = #filePath, line: UInt = #line) {
    assertPassed(checkSecondOrder(op: op, inputs: inputs, expect: expect, label: label, seed: seed),
                 file: file, line: line)
}

// MARK: - Op catalogue entries

/// One differentiable op on concrete inputs, shared by the first- and second-order test classes.
struct OpCase {
    let label: String
    let inputs: [Tensor<Double>]
    let op: DiffOp
    var reference: DiffOp? = nil
    let second: SecondOrder

    /// Inputs drawn from `domains` with a seed derived from the label, so every case is reproducible.
    init(_ label: String, _ specs: [([Int], Domain)], second: SecondOrder, reference: DiffOp? = nil,
         op: @escaping DiffOp) {
        var rng = RandomStream(seed: stableSeed(label))
        self.label = label
        self.inputs = specs.map { randomTensor($0.0, $0.1, &rng) }
        self.op = op
        self.reference = reference
        self.second = second
    }

    init(_ label: String, inputs: [Tensor<Double>], second: SecondOrder, reference: DiffOp? = nil,
         op: @escaping DiffOp) {
        self.label = label
        self.inputs = inputs
        self.op = op
        self.reference = reference
        self.second = second
    }
}

func assertFirstOrder(_ cases: [OpCase], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(cases.isEmpty, file: file, line: line)
    for c in cases {
        assertGradients(op: c.op, inputs: c.inputs, reference: c.reference, label: c.label,
                        seed: stableSeed(c.label) &+ 1, file: file, line: line)
    }
}

func assertSecondOrder(_ cases: [OpCase], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(cases.isEmpty, file: file, line: line)
    for c in cases {
        assertSecondOrder(op: c.op, inputs: c.inputs, expect: c.second, label: c.label,
                          seed: stableSeed(c.label) &+ 2, file: file, line: line)
    }
}
