// Value-level kernels against naive scalar loops: odd shapes, SIMD tail lengths, every broadcast fast
// path and the general odometer path, reductions along every axis, the softmax family's stability.
import Autodiff
import CKernels
import Foundation
import TestSupport
import XCTest

/// Lengths that exercise empty-ish, sub-vector, exact-vector and remainder loops.
let tailLengths = [1, 3, 7, 17, 33, 1001]

/// Deterministic pseudo-random Doubles in [lo, hi).
func randomScalars(_ n: Int, _ lo: Double, _ hi: Double, seed: UInt64) -> [Double] {
    var rng = RandomStream(seed: seed)
    return (0..<n).map { _ in lo + (hi - lo) * rng.nextUnit() }
}

/// Row-major multi-index of a flat offset.
func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for axis in stride(from: shape.count - 1, through: 0, by: -1) {
        index[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return index
}

/// Flat offset into `shape` of an output multi-index under NumPy broadcasting (written independently
/// of the library's stride computation).
func broadcastOffset(_ outIndex: [Int], _ shape: [Int]) -> Int {
    let offset = outIndex.count - shape.count
    var flat = 0
    for axis in 0..<shape.count {
        flat = flat * shape[axis] + (shape[axis] == 1 ? 0 : outIndex[axis + offset])
    }
    return flat
}

final class KernelTests: XCTestCase {
    // MARK: Unary

    struct UnaryCase<S: TensorScalar> {
        let name: String
        let lo: Double, hi: Double
        let op: (Tensor<S>) -> Tensor<S>
        let reference: (Double) -> Double
    }

    func unaryCases<S: TensorScalar>(_: S.Type) -> [UnaryCase<S>] {
        [UnaryCase(name: "neg", lo: -5, hi: 5, op: { $0.neg() }, reference: { -$0 }),
         UnaryCase(name: "prefix -", lo: -5, hi: 5, op: { -$0 }, reference: { -$0 }),
         UnaryCase(name: "exp", lo: -5, hi: 5, op: { $0.exp() }, reference: { Foundation.exp($0) }),
         UnaryCase(name: "log", lo: 0.01, hi: 10, op: { $0.log() }, reference: { Foundation.log($0) }),
         UnaryCase(name: "log1p", lo: -0.99, hi: 10, op: { $0.log1p() }, reference: { Foundation.log1p($0) }),
         UnaryCase(name: "sigmoid", lo: -8, hi: 8, op: { $0.sigmoid() }, reference: { 1 / (1 + Foundation.exp(-$0)) }),
         UnaryCase(name: "tanh", lo: -4, hi: 4, op: { $0.tanh() }, reference: { Foundation.tanh($0) }),
         UnaryCase(name: "relu", lo: -5, hi: 5, op: { $0.relu() }, reference: { Swift.max($0, 0) }),
         UnaryCase(name: "softplus", lo: -8, hi: 8, op: { $0.softplus() }, reference: { Foundation.log1p(Foundation.exp($0)) }),
         UnaryCase(name: "logSigmoid", lo: -8, hi: 8, op: { $0.logSigmoid() }, reference: { -Foundation.log1p(Foundation.exp(-$0)) }),
         UnaryCase(name: "square", lo: -5, hi: 5, op: { $0.square() }, reference: { $0 * $0 }),
         UnaryCase(name: "sqrt", lo: 0, hi: 10, op: { $0.sqrt() }, reference: { Foundation.sqrt($0) }),
         UnaryCase(name: "abs", lo: -5, hi: 5, op: { $0.abs() }, reference: { Swift.abs($0) }),
         UnaryCase(name: "reciprocal", lo: 0.1, hi: 10, op: { $0.reciprocal() }, reference: { 1 / $0 }),
         UnaryCase(name: "step", lo: -5, hi: 5, op: { $0.step() }, reference: { $0 > 0 ? 1 : 0 })]
    }

    /// `tolerance` is relative with a floor of 1: a few ulps of the type.
    func checkUnary<S: TensorScalar>(_ type: S.Type, tolerance: Double, file: StaticString = #filePath, line: UInt = #line) {
        for c in unaryCases(type) {
            for n in tailLengths {
                let xs = randomScalars(n, c.lo, c.hi, seed: stableSeed(c.name) &+ UInt64(n)).map { S($0) }
                let y = c.op(Tensor(shape: [n], scalars: xs))
                XCTAssertEqual(y.shape, [n], file: file, line: line)
                for i in 0..<n {
                    let x = Double(xs[i]), expected = c.reference(x), got = Double(y[flat: i])
                    XCTAssertLessThanOrEqual(Swift.abs(got - expected), tolerance * Swift.max(1, Swift.abs(expected)),
                                             "\(S.self) \(c.name)(\(x)) n=\(n): \(got) vs \(expected)", file: file, line: line)
                }
            }
            // Odd rank-3 shape: the kernels are flat, but the shape must be carried through.
            let x = Tensor<S>(shape: [3, 1, 5], scalars: randomScalars(15, c.lo, c.hi, seed: 99).map { S($0) })
            XCTAssertEqual(c.op(x).shape, [3, 1, 5], file: file, line: line)
        }
    }

    // SLEEF's u10 functions are within 1 ulp, like glibc's; the sigmoid family composes two of them.
    func testUnaryDouble() { onEveryKernelPath { _ in checkUnary(Double.self, tolerance: 1e-14) } }
    func testUnaryFloat() { onEveryKernelPath { _ in checkUnary(Float.self, tolerance: 1e-6) } }

    /// Every path is exercised (a machine without AVX-512 still checks AVX2 and scalar).
    func testKernelPathsAvailable() {
        var paths: [String] = []
        onEveryKernelPath { paths.append($0) }
        XCTAssertTrue(paths.contains("scalar"))
        XCTAssertEqual(paths.first, String(cString: dg_kernel_isa()), "the automatic path is the widest one")
    }

    /// An element's value does not depend on its position (vector body or padded tail) or on the
    /// array's length: what lets a kernel split work across threads without changing results.
    func testUnaryIsPositionIndependent() {
        onEveryKernelPath { path in
            let xs = randomScalars(37, -0.9, 6, seed: 5).map { Float($0) } + [-6, -3.5]
            for op in [UnaryOp.exp, .log1p, .tanh, .sigmoid, .softplus, .logSigmoid] {
                let whole = Tensor(shape: [xs.count], scalars: xs).mapped(op)
                for start in [0, 1, 5, 16, 33] {
                    let part = Tensor(shape: [xs.count - start], scalars: Array(xs[start...])).mapped(op)
                    XCTAssertEqual(whole.scalars[start...].map(\.bitPattern), part.scalars.map(\.bitPattern),
                                   "\(op) from \(start) on \(path)")
                }
            }
        }
    }

    /// Splitting a kernel across threads (Parallel.threads = 2) gives the same bits as one thread, for
    /// every kernel that Parallel splits: what keeps a 2-thread run reproducible.
    func testKernelsGiveTheSameBitsOnOneAndTwoThreads() {
        var rng = RandomStream(seed: 21)
        let x = Tensor<Float>.uniform([300, 257], using: &rng) * 12 - 6
        let t = Tensor<Float>.uniform([300, 257], using: &rng)
        let g = Tensor<Float>.uniform([300], using: &rng)
        let logits = (Tensor<Float>.uniform([4000, 24, 4], using: &rng) - 0.5) * 8
        let base = Variable(Tensor<Float>.uniform([1000, 24, 4], using: &rng), requiresGradient: true)
        let upstream = Variable(Tensor<Float>.uniform([1000, 24, 4], using: &rng))
        func run() -> [[UInt32]] {
            [x.exp(), x.softplus(), x.sigmoid(), x.logSigmoid(), x.tanh(), x.abs().log1p(), x.relu(), x.step(),
             x * t, x - t, x / (t + 1), x.maximum(t),
             x.sigmoidCrossEntropy(targets: t), x.sigmoidCrossEntropyGradient(targets: t, upstream: g),
             x.sigmoidCurvature(upstream: t, rowScale: g, targets: nil).curvature!,
             x.sigmoidCurvature(upstream: x, rowScale: nil, targets: t).residual!,
             logits.softmax(), logits.logSoftmax(),
             gradients(of: (base.softmaxMixture(shifted: logits, weights: [0.25, 0.25, 0.25, -1], temperature: 0.7)
                            * upstream).sum(), wrt: [base])[0].value]
                .map { $0.scalars.map(\.bitPattern) } + conditionalMixture()
        }
        // The fused conditional Gumbel mixture: value and gradient, at τ = 1 and τ ≠ 1 (each row's draws
        // come from its own seed, so the split cannot move them).
        func conditionalMixture() -> [[UInt32]] {
            [Float(1), 0.7].flatMap { tau -> [[UInt32]] in
                var noise = RandomStream(seed: 22)
                let code = Tensor<Float>.oneHot(indices: Tensor.categoricalIndices(logits: base.value, using: &noise), classes: 4)
                let y = base.conditionalGumbelMixture(noiseLogits: base.value * 2, code: code, weights: [Float](repeating: 0.05, count: 20),
                                                      temperature: tau, rng: &noise)
                return [y.value, gradients(of: (y * upstream).sum(), wrt: [base])[0].value].map { $0.scalars.map(\.bitPattern) }
            }
        }
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let one = run()
        Parallel.threads = 2
        let two = run()
        for (i, (a, b)) in zip(one, two).enumerated() { XCTAssertEqual(a, b, "kernel \(i)") }
    }

    /// The fused backward of the Bernoulli NLL gradient gives the same bits as the single ops it replaces,
    /// ((u·σ(l))·(1 − σ(l)))·g and u·(σ(l) − t), on every kernel path, for every SIMD tail, with saturated
    /// logits, alone or together, in Float and Double.
    func testSigmoidCurvatureHasTheBitsOfTheComposition() {
        func check<T: TensorScalar>(_: T.Type, _ path: String) {
            for columns in [1, 7, 16, 17, 33, 784] {
                let rows = 3, n = rows * columns
                var ls = randomScalars(n, -9, 9, seed: UInt64(columns) + 40)
                ls[0] = 60; ls[n - 1] = -60
                let l = Tensor(shape: [rows, columns], scalars: ls).converted(to: T.self)
                let u = Tensor(shape: [rows, columns], scalars: randomScalars(n, -2, 2, seed: 41)).converted(to: T.self)
                let t = Tensor(shape: [rows, columns], scalars: randomScalars(n, 0, 1, seed: 42)).converted(to: T.self)
                let g = Tensor(shape: [rows], scalars: randomScalars(rows, -2, 2, seed: 43)).converted(to: T.self)
                let s = l.sigmoid()
                let curvature = (u * s * (1 - s) * g.reshaped([rows, 1])).scalars, residual = (u * (s - t)).scalars
                let both = l.sigmoidCurvature(upstream: u, rowScale: g, targets: t)
                XCTAssertEqual(both.curvature!.scalars, curvature, "curvature \(columns) on \(path)")
                XCTAssertEqual(both.residual!.scalars, residual, "residual \(columns) on \(path)")
                let alone = (l.sigmoidCurvature(upstream: u, rowScale: g, targets: nil),
                             l.sigmoidCurvature(upstream: u, rowScale: nil, targets: t))
                XCTAssertNil(alone.0.residual)
                XCTAssertNil(alone.1.curvature)
                XCTAssertEqual(alone.0.curvature!.scalars, curvature, "curvature alone \(columns) on \(path)")
                XCTAssertEqual(alone.1.residual!.scalars, residual, "residual alone \(columns) on \(path)")
            }
        }
        onEveryKernelPath { path in
            check(Float.self, path)
            check(Double.self, path)
        }
    }

    /// The fused conditional logistic draw has the bits of the single ops it replaces, on every kernel path,
    /// for every SIMD tail and saturated logits, in Float and Double; its derivative matches the composition's
    /// gradient to rounding.
    func testConditionalLogisticHasTheBitsOfTheComposition() {
        func check<T: TensorScalar>(_: T.Type, _ path: String, tolerance: Double) {
            for n in [1, 7, 16, 17, 33, 200] {
                var ls = randomScalars(n, -9, 9, seed: UInt64(n) + 50)
                ls[0] = 40
                let l = Tensor(shape: [n], scalars: ls).converted(to: T.self)
                let code = Tensor(shape: [n], scalars: randomScalars(n, 0, 1, seed: 51).map { $0 < 0.5 ? 0 : 1 }).converted(to: T.self)
                let w = Tensor(shape: [n], scalars: randomScalars(n, 0.001, 0.999, seed: 52)).converted(to: T.self)
                let leaf = Variable(l, requiresGradient: true)
                let sign = Variable(code * 2 - 1), a = sign * leaf
                let composed = sign * (a.softplus() - Variable(w.log()) + (-(a.sigmoid() * Variable(w))).log1p())
                let fused = leaf.conditionalLogistic(code: code, uniforms: w)
                XCTAssertEqual(fused.value.scalars, composed.value.scalars, "value \(n) on \(path)")
                let g1 = gradients(of: fused.sum(), wrt: [leaf])[0].value, g2 = gradients(of: composed.sum(), wrt: [leaf])[0].value
                for i in 0..<n {
                    XCTAssertEqual(Double(g1[flat: i]), Double(g2[flat: i]), accuracy: tolerance * Swift.max(1, Swift.abs(Double(g2[flat: i]))),
                                   "derivative \(i) of \(n) on \(path)")
                }
            }
        }
        onEveryKernelPath { path in
            check(Float.self, path, tolerance: 1e-5)
            check(Double.self, path, tolerance: 1e-13)
        }
    }

    /// The fused Bernoulli KL terms have the bits of the single ops they replace, on every kernel path, for
    /// every SIMD tail and saturated logits, in Float and Double; the closed-form gradients match the
    /// composition's to rounding.
    func testBernoulliKLHasTheBitsOfTheComposition() {
        func check<T: TensorScalar>(_: T.Type, _ path: String, tolerance: Double) {
            for n in [1, 7, 16, 17, 33, 200] {
                var ls = randomScalars(3 * n, -9, 9, seed: UInt64(n) + 60)
                ls[0] = 40; ls[3 * n - 1] = -40
                let a = Variable(Tensor(shape: [3, n], scalars: ls).converted(to: T.self), requiresGradient: true)
                let p = Variable(Tensor(shape: [n], scalars: randomScalars(n, -3, 3, seed: 61)).converted(to: T.self), requiresGradient: true)
                let q = a.sigmoid()
                let composed = q * (a.logSigmoid() - p.logSigmoid()) + (1 - q) * ((-a).logSigmoid() - (-p).logSigmoid())
                let fused = a.bernoulliKLTerms(prior: p)
                XCTAssertEqual(fused.value.scalars, composed.value.scalars, "value \(n) on \(path)")
                let weights = Variable(Tensor(shape: [3, n], scalars: randomScalars(3 * n, -1, 1, seed: 62)).converted(to: T.self))
                let g1 = gradients(of: (fused * weights).sum(), wrt: [a, p]), g2 = gradients(of: (composed * weights).sum(), wrt: [a, p])
                for (x, y) in zip(g1, g2) {
                    for i in 0..<x.value.count {
                        XCTAssertEqual(Double(x.value[flat: i]), Double(y.value[flat: i]),
                                       accuracy: tolerance * Swift.max(1, Swift.abs(Double(y.value[flat: i]))), "gradient \(i) of \(n) on \(path)")
                    }
                }
            }
        }
        onEveryKernelPath { path in
            check(Float.self, path, tolerance: 2e-5)
            check(Double.self, path, tolerance: 1e-12)
        }
    }

    /// Each Float term softplus(l) − t·l of the fused Bernoulli NLL (one column a row, so a row is one term)
    /// is within 1e-7 absolute of the exact value plus the rounding of its additions (a few ulps of |l|):
    /// the single-precision kernel takes log(1 + e) for log1p(e), e = exp(−|l|), with SLEEF's 3.5-ulp log.
    func testFloatBernoulliTermsWithinTheirBound() {
        onEveryKernelPath { path in
            var ls = randomScalars(3000, -30, 30, seed: 77) + randomScalars(3000, -2, 2, seed: 78)
            ls += [0, 1e-8, -1e-8, 1e-3, -1e-3, 17, -17, 88, -88]
            for target in [0.0, 0.3, 1.0] {
                let l = Tensor(shape: [ls.count, 1], scalars: ls).converted(to: Float.self)
                let t = Tensor<Float>(repeating: Float(target), shape: [ls.count, 1])
                let terms = l.sigmoidCrossEntropy(targets: t)
                var worst = 0.0
                for (i, x) in l.scalars.enumerated() {
                    let xd = Double(x), exact = Swift.max(xd, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(xd))) - Double(Float(target)) * xd
                    let bound = 1e-7 + 3 * Double(Float.ulpOfOne) * (Swift.abs(xd) + Swift.abs(Double(Float(target)) * xd))
                    worst = Swift.max(worst, Swift.abs(Double(terms[flat: i]) - exact) / bound)
                }
                XCTAssertLessThanOrEqual(worst, 1, "t = \(target) on \(path)")
            }
        }
    }

    /// The fused Bernoulli log-likelihood and its gradient kernel against the unfused formula, on
    /// grey-level targets, tails of every SIMD width, and saturated logits.
    func testSigmoidCrossEntropyKernels() {
        onEveryKernelPath { path in
            for columns in [1, 7, 16, 17, 33, 784] {
                let rows = 3, n = rows * columns
                var ls = randomScalars(n, -8, 8, seed: UInt64(columns))
                ls[0] = 60; ls[n - 1] = -60
                let ts = randomScalars(n, 0, 1, seed: UInt64(columns) + 7)
                let gs = randomScalars(rows, -2, 2, seed: 3)
                let l = Tensor(shape: [rows, columns], scalars: ls), t = Tensor(shape: [rows, columns], scalars: ts)
                let value = l.sigmoidCrossEntropy(targets: t)
                let gradient = l.sigmoidCrossEntropyGradient(targets: t, upstream: Tensor(shape: [rows], scalars: gs))
                for r in 0..<rows {
                    var expected = 0.0
                    for j in 0..<columns {
                        let x = ls[r * columns + j]
                        expected += Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) - ts[r * columns + j] * x
                        let g = (1 / (1 + Foundation.exp(-x)) - ts[r * columns + j]) * gs[r]
                        // A few operations on O(1) values, SLEEF or libm within 1 ulp: rounding ~1e-15.
                        XCTAssertEqual(gradient[flat: r * columns + j], g, accuracy: 1e-14, "gradient \(columns) on \(path)")
                    }
                    XCTAssertEqual(value[flat: r], expected, accuracy: 1e-12 * Swift.max(1, Swift.abs(expected)), "value \(columns) on \(path)")
                }
                // Value: a sum of ≤ 784 terms, each within a few ulps; Double rounding ≲ 784·1e-16 relative to
                // the sum of |terms| (at most a few times the value here), so 1e-12 relative. Float: the
                // same in Float (√784·6e-8 ≈ 2e-6 typical for a blocked sum) after rounding the inputs to
                // Float, so 1e-5 relative.
                let lf = l.converted(to: Float.self), tf = t.converted(to: Float.self)
                for (got, want) in zip(lf.sigmoidCrossEntropy(targets: tf).scalars, value.scalars) {
                    XCTAssertEqual(Double(got), want, accuracy: 1e-5 * Swift.max(1, Swift.abs(want)), "Float value \(columns) on \(path)")
                }
            }
        }
    }

    /// The kinks: relu(0) = 0, step(0) = 0, abs(-0) = 0, sign conventions at zero.
    func testUnaryAtZero() {
        let x = Tensor<Double>(shape: [3], scalars: [0, -0.0, 1e-300])
        XCTAssertEqual(x.relu().scalars, [0, 0, 1e-300])
        XCTAssertEqual(x.step().scalars, [0, 0, 1])
        XCTAssertEqual(x.abs().scalars, [0, 0, 1e-300])
        XCTAssertEqual(x.sqrt().scalars[0], 0)
        XCTAssertEqual(Tensor<Double>(0).log().scalar, -.infinity)
    }

    /// The tails: finite, and correct to relative precision (not just "close to 0 or 1").
    func testSigmoidFamilyTails() { onEveryKernelPath { _ in checkSigmoidFamilyTails() } }
    func checkSigmoidFamilyTails() {
        let e100 = Foundation.exp(-100.0)  // 3.72e-44
        let x = Tensor<Double>(shape: [2], scalars: [100, -100])
        let sigmoid = x.sigmoid(), softplus = x.softplus(), logSigmoid = x.logSigmoid()
        XCTAssertTrue(sigmoid.isFinite && softplus.isFinite && logSigmoid.isFinite)
        XCTAssertEqual(sigmoid[flat: 0], 1)
        XCTAssertEqual(sigmoid[flat: 1], e100 / (1 + e100), accuracy: 1e-15 * e100)
        XCTAssertEqual(softplus[flat: 0], 100)
        XCTAssertEqual(softplus[flat: 1], e100, accuracy: 1e-15 * e100)
        XCTAssertEqual(logSigmoid[flat: 0], -e100, accuracy: 1e-15 * e100)
        XCTAssertEqual(logSigmoid[flat: 1], -100)
        // Float: e^-100 is subnormal there, so only finiteness, the saturated ends and a loose tail.
        let xf = Tensor<Float>(shape: [4], scalars: [100, -100, 1000, -1000])
        for t in [xf.sigmoid(), xf.softplus(), xf.logSigmoid()] { XCTAssertTrue(t.isFinite, "\(t)") }
        XCTAssertEqual(xf.sigmoid().scalars, [1, Float(e100 / (1 + e100)), 1, 0])
        XCTAssertEqual(xf.softplus().scalars[0], 100)
        XCTAssertEqual(xf.softplus().scalars[2], 1000)
        XCTAssertEqual(xf.softplus().scalars[3], 0)
        XCTAssertEqual(xf.logSigmoid().scalars[1], -100)
        XCTAssertEqual(xf.logSigmoid().scalars[3], -1000)
        XCTAssertEqual(Tensor<Double>(1000).softplus().scalar, 1000)
        XCTAssertEqual(Tensor<Double>(-1000).logSigmoid().scalar, -1000)
    }

    // MARK: Binary with broadcasting

    /// Pairs hitting: both dense; dense ∘ scalar and scalar ∘ dense (rank-0 and all-ones shapes); and
    /// the odometer with inner strides (1,1), (1,0), (0,1), over ranks 2-4.
    func broadcastPairs(_ n: Int) -> [([Int], [Int])] {
        [([n], [n]), ([n], []), ([], [n]), ([n], [1]), ([1], [n]), ([1, 1], [2, n]), ([2, n], [1, 1]),
         ([2, n], [n]), ([n], [2, n]), ([2, n], [2, 1]), ([2, 1], [2, n]), ([n, 1], [1, 3]), ([1, n], [3, 1]),
         ([2, 1, n], [1, 4, 1]), ([2, 1, 3], [1, 4, 1]), ([2, 1, 3, 1], [1, 4, 1, n]), ([3, 1], [1, 1]), ([], [])]
    }

    func checkBinary<S: TensorScalar>(_: S.Type, file: StaticString = #filePath, line: UInt = #line) {
        let ops: [(String, (Tensor<S>, Tensor<S>) -> Tensor<S>, (S, S) -> S)] = [
            ("+", { $0 + $1 }, { $0 + $1 }), ("-", { $0 - $1 }, { $0 - $1 }),
            ("*", { $0 * $1 }, { $0 * $1 }), ("/", { $0 / $1 }, { $0 / $1 }),
            ("maximum", { $0.maximum($1) }, { Swift.max($0, $1) }), ("minimum", { $0.minimum($1) }, { Swift.min($0, $1) }),
            ("pow", { $0.pow($1) }, { S.pow($0, $1) }),
            ("greater", { $0.greater($1) }, { $0 > $1 ? 1 : 0 }), ("equal", { $0.equal($1) }, { $0 == $1 ? 1 : 0 }),
        ]
        for n in tailLengths {
            for (sa, sb) in broadcastPairs(n) {
                // Small integers plus a fraction: ties for equal/greater/maximum, positive bases for pow.
                let a = Tensor<S>(shape: sa, scalars: randomScalars(sa.reduce(1, *), 0, 4, seed: 1).map { S(($0).rounded() + 0.5) })
                let b = Tensor<S>(shape: sb, scalars: randomScalars(sb.reduce(1, *), 0, 4, seed: 2).map { S(($0).rounded() + 0.5) })
                let outShape = sa.count >= sb.count
                    ? zip(sa.dropFirst(sa.count - sb.count), sb).reduce(Array(sa.prefix(sa.count - sb.count))) { $0 + [Swift.max($1.0, $1.1)] }
                    : zip(sb.dropFirst(sb.count - sa.count), sa).reduce(Array(sb.prefix(sb.count - sa.count))) { $0 + [Swift.max($1.0, $1.1)] }
                for (name, op, reference) in ops {
                    let out = op(a, b)
                    XCTAssertEqual(out.shape, outShape, "\(sa) \(name) \(sb)", file: file, line: line)
                    var mismatches = 0
                    for i in 0..<out.count {
                        let index = multiIndex(i, outShape)
                        let expected = reference(a[flat: broadcastOffset(index, sa)], b[flat: broadcastOffset(index, sb)])
                        if out[flat: i] != expected { mismatches += 1 }
                    }
                    XCTAssertEqual(mismatches, 0, "\(S.self) \(sa) \(name) \(sb)", file: file, line: line)
                }
            }
        }
        // Scalar overloads.
        let t = Tensor<S>(shape: [7], scalars: (0..<7).map { S($0) })
        XCTAssertEqual((t + 2).scalars, (0..<7).map { S($0) + 2 })
        XCTAssertEqual((2 - t).scalars, (0..<7).map { 2 - S($0) })
        XCTAssertEqual((t * 3).scalars, (0..<7).map { S($0) * 3 })
        XCTAssertEqual((1 / (t + 1)).scalars, (0..<7).map { 1 / (S($0) + 1) })
        XCTAssertEqual((t / 4 - 1).scalars, (0..<7).map { S($0) / 4 - 1 })
    }

    // + − × ÷ go through CKernels' vector paths (exact: the same bits as the scalar reference on each).
    func testBinaryDouble() { onEveryKernelPath { _ in checkBinary(Double.self) } }
    func testBinaryFloat() { onEveryKernelPath { _ in checkBinary(Float.self) } }

    func testSelect() {
        let mask = Tensor<Double>(shape: [2, 3], scalars: [1, 0, 1, 0, 0, 1])
        let a = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        // Broadcast b, and an infinity in the unselected branch must not leak (no NaN).
        let b = Tensor<Double>(shape: [3], scalars: [-.infinity, -20, -30])
        XCTAssertEqual(Tensor.select(mask, a, b).scalars, [1, -20, 3, -.infinity, -20, 6])
        let columnMask = Tensor<Double>(shape: [2, 1], scalars: [0, 1])
        XCTAssertEqual(Tensor.select(columnMask, a, b).scalars, [-.infinity, -20, -30, 4, 5, 6])
    }

    // MARK: Reductions

    func checkReductions<S: TensorScalar>(_: S.Type, file: StaticString = #filePath, line: UInt = #line) {
        let shape = [3, 5, 7]
        // Small integers: ties for max/min/argmax (argmax takes the first), and sums exact in either type.
        let xs = randomScalars(105, -4, 4, seed: 7).map { S($0.rounded()) }
        let x = Tensor<S>(shape: shape, scalars: xs)
        func naive(_ axis: Int, _ combine: ([S]) -> S) -> [S] {
            var kept = shape
            kept[axis] = 1
            return (0..<kept.reduce(1, *)).map { o in
                var index = multiIndex(o, kept)
                let column: [S] = (0..<shape[axis]).map { i in
                    index[axis] = i
                    return xs[broadcastOffset(index, shape)]
                }
                return combine(column)
            }
        }
        let sum: ([S]) -> S = { $0.reduce(0, +) }
        let max: ([S]) -> S = { $0.max()! }
        let min: ([S]) -> S = { $0.min()! }
        let argmax: ([S]) -> S = { S($0.firstIndex(of: $0.max()!)!) }
        for axis in 0..<3 {
            for keep in [false, true] {
                var expectedShape = shape
                if keep { expectedShape[axis] = 1 } else { expectedShape.remove(at: axis) }
                for (name, result, combine) in [("sum", x.sum(alongAxis: axis, keepingDimensions: keep), sum),
                                                ("max", x.max(alongAxis: axis, keepingDimensions: keep), max),
                                                ("min", x.min(alongAxis: axis, keepingDimensions: keep), min),
                                                ("argmax", x.argmax(alongAxis: axis, keepingDimensions: keep), argmax)] {
                    XCTAssertEqual(result.shape, expectedShape, "\(name) axis \(axis)", file: file, line: line)
                    XCTAssertEqual(result.scalars, naive(axis, combine), "\(S.self) \(name) axis \(axis) keep \(keep)", file: file, line: line)
                }
                let mean = x.mean(alongAxis: axis, keepingDimensions: keep)
                XCTAssertEqual(mean.scalars, naive(axis, sum).map { $0 / S(shape[axis]) }, file: file, line: line)
            }
            // Negative axes count from the end.
            XCTAssertEqual(x.sum(alongAxis: axis - 3), x.sum(alongAxis: axis), file: file, line: line)
        }
        XCTAssertEqual(x.argmax().shape, [3, 5], file: file, line: line)
        XCTAssertEqual(x.argmax().scalars, naive(2, argmax), "argmax (last axis, first on ties)", file: file, line: line)
        XCTAssertEqual(x.sum().shape, [], file: file, line: line)
        XCTAssertEqual(x.sum().scalar, xs.reduce(0, +), file: file, line: line)
        XCTAssertEqual(x.mean().scalar, xs.reduce(0, +) / 105, file: file, line: line)
    }

    func testReductionsDouble() { checkReductions(Double.self) }
    func testReductionsFloat() { checkReductions(Float.self) }

    /// Full sums over tail lengths with non-integer data: the 4-accumulator loop and its remainder.
    func testSumTailLengths() {
        for n in tailLengths {
            let xs = randomScalars(n, -1, 1, seed: UInt64(n))
            // The standard summation bound |error| ≤ γ_n Σ|x|, γ_n ≈ n·u with u = 1.1e-16 (1e-300 for n = 1).
            let expected = xs.reduce(0, +), bound = Double(n) * 1e-16 * xs.map(Swift.abs).reduce(0, +)
            XCTAssertEqual(Tensor(shape: [n], scalars: xs).sum().scalar, expected, accuracy: bound + 1e-300, "n=\(n)")
            XCTAssertEqual(Tensor(shape: [2, n], scalars: xs + xs).sum(alongAxis: 1).scalars.first!, expected, accuracy: bound + 1e-300)
            XCTAssertEqual(Tensor(shape: [n, 1], scalars: xs).sum(alongAxis: 0).scalar, expected, accuracy: bound + 1e-300)
        }
    }

    // MARK: Softmax family

    func naiveLogSoftmax(_ row: [Double]) -> [Double] {
        let m = row.max()!
        let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
        return row.map { $0 - lse }
    }

    // Double tolerances here are 1e-12 to 1e-15 relative: a few to a few hundred ulps (u = 1.1e-16) on
    // values of size 1 to 2000, since the kernels and the naive loops differ only in operation order and
    // in SLEEF vs libm (≤ 1 ulp each); a wrong formula is off by O(1). Float: 1e-6 on probabilities, a
    // few Float ulps (6e-8).
    func testSoftmaxFamilyAgainstNaive() { onEveryKernelPath { _ in checkSoftmaxFamilyAgainstNaive() } }
    func checkSoftmaxFamilyAgainstNaive() {
        for shape in [[3, 7], [2, 3, 5], [1, 1], [4, 1], [5]] + tailLengths.map({ [2, $0] }) {
            let n = shape.reduce(1, *), columns = shape.last!
            let xs = randomScalars(n, -6, 6, seed: UInt64(n))
            let x = Tensor(shape: shape, scalars: xs)
            let rows = (0..<(n / columns)).map { Array(xs[($0 * columns)..<(($0 + 1) * columns)]) }
            let logSoftmax = rows.flatMap(naiveLogSoftmax)
            let lse = rows.map { r in Foundation.log(r.map(Foundation.exp).reduce(0, +)) }
            for (got, expected, name) in [(x.logSoftmax().scalars, logSoftmax, "logSoftmax"),
                                          (x.softmax().scalars, logSoftmax.map(Foundation.exp), "softmax"),
                                          (x.logSumExp().scalars, lse, "logSumExp")] {
                XCTAssertEqual(got.count, expected.count)
                for (g, e) in zip(got, expected) {
                    XCTAssertEqual(g, e, accuracy: 1e-13 * Swift.max(1, Swift.abs(e)), "\(name) \(shape)")
                }
            }
            XCTAssertEqual(x.logSoftmax().shape, shape)
            XCTAssertEqual(x.softmax().shape, shape)
            XCTAssertEqual(x.logSumExp().shape, Array(shape.dropLast()))
            XCTAssertEqual(x.logSumExp(keepingDimensions: true).shape, Array(shape.dropLast()) + [1])
            // Rows of the softmax sum to one.
            for s in x.softmax().sum(alongAxis: -1).scalars { XCTAssertEqual(s, 1, accuracy: 1e-14) }
        }
    }

    func testSoftmaxFamilyExtremeInputs() { onEveryKernelPath { _ in checkSoftmaxFamilyExtremeInputs() } }
    func checkSoftmaxFamilyExtremeInputs() {
        let inf = Double.infinity
        let x = Tensor<Double>(shape: [4, 3], scalars: [1000, 999, -1000,
                                                        -1000, -1000, -1000,
                                                        0, -inf, 1,
                                                        -inf, 5, -inf])
        let softmax = x.softmax(), logSoftmax = x.logSoftmax(), lse = x.logSumExp()
        XCTAssertFalse(softmax.scalars.contains { $0.isNaN }, "\(softmax)")
        XCTAssertFalse(logSoftmax.scalars.contains { $0.isNaN }, "\(logSoftmax)")
        XCTAssertTrue(lse.isFinite, "\(lse)")
        let e = Foundation.exp(1.0), em1 = Foundation.exp(-1.0)
        let expectedSoftmax: [Double] = [1 / (1 + em1), em1 / (1 + em1), 0,
                                         1.0 / 3, 1.0 / 3, 1.0 / 3,
                                         1 / (1 + e), 0, e / (1 + e),
                                         0, 1, 0]
        for (g, x) in zip(softmax.scalars, expectedSoftmax) { XCTAssertEqual(g, x, accuracy: 1e-15) }
        let l1 = Foundation.log1p(em1)
        let expectedLog: [Double] = [-l1, -1 - l1, -2000 - l1,
                                     -Foundation.log(3), -Foundation.log(3), -Foundation.log(3),
                                     -Foundation.log1p(e), -inf, 1 - Foundation.log1p(e),
                                     -inf, 0, -inf]
        for (g, x) in zip(logSoftmax.scalars, expectedLog) {
            if x.isInfinite { XCTAssertEqual(g, x) } else { XCTAssertEqual(g, x, accuracy: 1e-12 * Swift.max(1, Swift.abs(x))) }
        }
        let expectedLSE: [Double] = [1000 + l1, -1000 + Foundation.log(3.0), Foundation.log1p(e), 5]
        for (g, x) in zip(lse.scalars, expectedLSE) { XCTAssertEqual(g, x, accuracy: 1e-12 * Swift.max(1, Swift.abs(x))) }
        // A row of only -inf has log Σ exp = -inf (no NaN); +inf dominates.
        XCTAssertEqual(Tensor<Double>(shape: [2], scalars: [-inf, -inf]).logSumExp().scalar, -inf)
        XCTAssertEqual(Tensor<Double>(shape: [2], scalars: [1, inf]).logSumExp().scalar, inf)
        // Float: the same stability.
        let xf = x.converted(to: Float.self)
        XCTAssertFalse(xf.softmax().scalars.contains { $0.isNaN })
        XCTAssertFalse(xf.logSoftmax().scalars.contains { $0.isNaN })
        XCTAssertTrue(xf.logSumExp().isFinite)
        for (g, x) in zip(xf.softmax().scalars, expectedSoftmax) { XCTAssertEqual(Double(g), x, accuracy: 1e-6) }
    }

    // MARK: Indexing

    func testGatherScatterOneHot() {
        let x = Tensor<Double>(shape: [2, 3], scalars: [10, 11, 12, 20, 21, 22])
        let indices = Tensor<Double>(shape: [2], scalars: [2, 0])
        XCTAssertEqual(x.gathered(indices: indices), Tensor(shape: [2], scalars: [12, 20]))
        XCTAssertEqual(Tensor<Double>(shape: [2], scalars: [5, 7]).scattered(indices: indices, classes: 3),
                       Tensor(shape: [2, 3], scalars: [0, 0, 5, 7, 0, 0]))
        XCTAssertEqual(Tensor<Double>.oneHot(indices: indices, classes: 3),
                       Tensor(shape: [2, 3], scalars: [0, 0, 1, 1, 0, 0]))
        // Rank 3 / rank 2 indices and a rank-0 index.
        let grid = Tensor<Double>(shape: [2, 2], scalars: [1, 0, 3, 2])
        let cube = Tensor<Double>(shape: [2, 2, 4], scalars: (0..<16).map(Double.init))
        XCTAssertEqual(cube.gathered(indices: grid), Tensor(shape: [2, 2], scalars: [1, 4, 11, 14]))
        XCTAssertEqual(Tensor<Double>.oneHot(indices: grid, classes: 4).shape, [2, 2, 4])
        XCTAssertEqual(Tensor<Double>.oneHot(indices: grid, classes: 4).scalars,
                       [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0])
        XCTAssertEqual(Tensor<Double>.oneHot(indices: Tensor(2), classes: 3), Tensor(shape: [3], scalars: [0, 0, 1]))
        XCTAssertEqual(Tensor<Double>(shape: [3], scalars: [7, 8, 9]).gathered(indices: Tensor(1)).scalar, 8)
        // gathered ∘ scattered is the identity; oneHot(i) · x summed over the last axis is gather.
        let values = Tensor<Double>(shape: [2, 2], scalars: [1.5, -2, 3, 4])
        XCTAssertEqual(values.scattered(indices: grid, classes: 4).gathered(indices: grid), values)
        XCTAssertEqual((Tensor<Double>.oneHot(indices: grid, classes: 4) * cube).sum(alongAxis: -1), cube.gathered(indices: grid))
        // Float too.
        XCTAssertEqual(x.converted(to: Float.self).gathered(indices: indices.converted()).scalars, [12, 20])
    }

    // MARK: Shapes

    /// Concatenation, row slices and padding move rows whole and exactly, and undo each other.
    func testConcatenatedSlicedPadded() {
        let a = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor<Float>(shape: [1, 3], scalars: [-0.0, .infinity, 7])
        let joined = Tensor.concatenated([a, b, a])
        XCTAssertEqual(joined.shape, [5, 3])
        XCTAssertEqual(joined.scalars.map(\.bitPattern), (a.scalars + b.scalars + a.scalars).map(\.bitPattern))
        XCTAssertEqual(joined.sliced(rows: 2..<3).scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), "-0 and ∞ kept")
        XCTAssertEqual(joined.sliced(rows: 0..<2).scalars, a.scalars)
        XCTAssertEqual(joined.sliced(rows: 3..<3).shape, [0, 3])
        let padded = b.padded(rowsBefore: 2, rowsAfter: 1)
        XCTAssertEqual(padded.shape, [4, 3])
        XCTAssertEqual(Array(padded.scalars[0..<6]), [Float](repeating: 0, count: 6))
        XCTAssertEqual(padded.sliced(rows: 2..<3).scalars.map(\.bitPattern), b.scalars.map(\.bitPattern))
        XCTAssertEqual(Array(padded.scalars[9..<12]), [0, 0, 0])
        let x = Tensor<Double>(shape: [3, 2, 2], scalars: (0..<12).map(Double.init))
        XCTAssertEqual(Tensor.concatenated([x.sliced(rows: 0..<1), x.sliced(rows: 1..<3)]).scalars, x.scalars)
    }

    func testReshapeTransposeExpand() {
        let x = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(x.reshaped([3, -1]).shape, [3, 2])
        XCTAssertEqual(x.reshaped([6]).scalars, x.scalars)
        XCTAssertEqual(x.transposed(), Tensor(shape: [3, 2], scalars: [1, 4, 2, 5, 3, 6]))
        XCTAssertEqual(x.transposed().transposed(), x)
        for (m, n) in [(1, 1), (1, 7), (7, 1), (17, 33)] {
            let t = Tensor(shape: [m, n], scalars: randomScalars(m * n, -1, 1, seed: 3))
            let tt = t.transposed()
            for i in 0..<m { for j in 0..<n { XCTAssertEqual(tt[flat: j * m + i], t[flat: i * n + j]) } }
        }
        XCTAssertEqual(Tensor<Double>(shape: [3], scalars: [1, 2, 3]).expanded(to: [2, 3]).scalars, [1, 2, 3, 1, 2, 3])
        XCTAssertEqual(Tensor<Double>(shape: [2, 1], scalars: [1, 2]).expanded(to: [2, 3]).scalars, [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(Tensor<Double>(4).expanded(to: [2, 2]).scalars, [4, 4, 4, 4])
        // Converting Float <-> Double round-trips Float values exactly.
        let f = Tensor<Float>(shape: [3], scalars: [0.1, -2.5, 3e-20])
        XCTAssertEqual(f.converted(to: Double.self).converted(to: Float.self), f)
    }
}
