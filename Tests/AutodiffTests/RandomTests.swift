// RandomStream and the random tensors: distribution moments with tolerances derived from the sample
// count, open-interval uniforms, reproducibility and checkpointing of the stream state.
import Autodiff
import Foundation
import TestSupport
import XCTest

final class RandomTests: XCTestCase {
    let sampleCount = 200_000
    /// Bounds are 5 standard errors, the SEs from the sample count and the distribution's own moments
    /// (TestSupport.assertMoments): a correct sampler fails one with probability NormalTail.twoSided(5)
    /// = 5.7e-7 (and the seeds are fixed, so a pass is reproducible), while a biased one is caught.
    let standardErrors = 5.0

    /// Mean and variance of `t` against the true μ, σ² and kurtosis κ = μ₄/σ⁴: SE(mean) = σ/√N,
    /// SE(sample variance) = σ²·√((κ − 1)/N).
    func assertMoments<S: TensorScalar>(_ t: Tensor<S>, mean: Double, variance: Double, kurtosis: Double,
                                        _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        TestSupport.assertMoments(t.converted(to: Double.self).scalars, mean: mean, variance: variance, kurtosis: kurtosis,
                                  standardErrors: standardErrors, name, file: file, line: line)
    }

    /// A distribution's Double and Float samplers (in that order, from one seeded stream) against its
    /// moments; returns the Double draws.
    @discardableResult
    func assertSamplers(_ name: String, seed: UInt64, mean: Double, variance: Double, kurtosis: Double,
                        _ double: ([Int], inout RandomStream) -> Tensor<Double>, _ float: ([Int], inout RandomStream) -> Tensor<Float>,
                        file: StaticString = #filePath, line: UInt = #line) -> Tensor<Double> {
        var rng = RandomStream(seed: seed)
        let draws = double([sampleCount], &rng)
        assertMoments(draws, mean: mean, variance: variance, kurtosis: kurtosis, name, file: file, line: line)
        assertMoments(float([sampleCount], &rng), mean: mean, variance: variance, kurtosis: kurtosis, "\(name) Float", file: file, line: line)
        return draws
    }

    // MARK: Continuous distributions

    func testUniform() {
        var rng = RandomStream(seed: 1)
        for t in [Tensor<Double>.uniform([sampleCount], using: &rng),
                  Tensor<Float>.uniform([sampleCount], using: &rng).converted(to: Double.self)] {
            // Uniform(0,1): variance 1/12, kurtosis 9/5.
            assertMoments(t, mean: 0.5, variance: 1.0 / 12, kurtosis: 1.8, "uniform")
            XCTAssertTrue(t.scalars.allSatisfy { $0 > 0 && $0 < 1 }, "uniform samples must lie in the open (0, 1)")
        }
        // Shape is honoured, and a rank-0 uniform is one draw.
        XCTAssertEqual(Tensor<Double>.uniform([3, 1, 2], using: &rng).shape, [3, 1, 2])
        XCTAssertEqual(Tensor<Double>.uniform([], using: &rng).count, 1)
    }

    /// The extremes of the bit-to-unit maps: the all-ones and all-zeros words must stay strictly
    /// inside (0, 1), in both precisions, or log(u) / log(1 − u) become infinite.
    func testOpenUnitExtremes() {
        for bits: UInt64 in [0, 1, .max, .max - 1, 1 << 63, (1 << 63) - 1] {
            let f = Float.openUnit(bits), d = Double.openUnit(bits)
            XCTAssertTrue(f > 0 && f < 1, "Float.openUnit(\(bits)) = \(f)")
            XCTAssertTrue(d > 0 && d < 1, "Double.openUnit(\(bits)) = \(d)")
            XCTAssertTrue(Float.log(1 - f).isFinite && Float.log(f).isFinite)
            XCTAssertTrue(Double.log(1 - d).isFinite && Double.log(d).isFinite)
        }
        // Symmetric about 1/2: u(b) + u(~b) = 1 exactly, so the grid is unbiased.
        for bits: UInt64 in [0, 12345, 1 << 40, .max / 3] {
            XCTAssertEqual(Double.openUnit(bits) + Double.openUnit(~bits), 1)
            XCTAssertEqual(Float.openUnit(bits) + Float.openUnit(~bits), 1)
        }
        // Monotone in the high bits.
        XCTAssertLessThan(Double.openUnit(1 << 62), Double.openUnit(1 << 63))
        XCTAssertLessThan(Float.openUnit(1 << 62), Float.openUnit(1 << 63))
        var rng = RandomStream(seed: 3)
        let u = (0..<1000).map { _ in rng.nextUnit() }
        XCTAssertTrue(u.allSatisfy { $0 > 0 && $0 < 1 })
    }

    func testGumbel() {
        // Standard Gumbel: mean γ (Euler–Mascheroni), variance π²/6, excess kurtosis 12/5.
        assertSamplers("gumbel", seed: 2, mean: 0.5772156649015329, variance: Double.pi * Double.pi / 6, kurtosis: 5.4,
                       { Tensor.gumbel($0, using: &$1) }, { Tensor.gumbel($0, using: &$1) })
    }

    func testLogistic() {
        // Standard logistic: mean 0, variance π²/3, excess kurtosis 6/5.
        assertSamplers("logistic", seed: 3, mean: 0, variance: Double.pi * Double.pi / 3, kurtosis: 4.2,
                       { Tensor.logistic($0, using: &$1) }, { Tensor.logistic($0, using: &$1) })
    }

    func testExponential() {
        // Exp(1): mean 1, variance 1, kurtosis 9.
        let t = assertSamplers("exponential", seed: 4, mean: 1, variance: 1, kurtosis: 9,
                               { Tensor.exponential($0, using: &$1) }, { Tensor.exponential($0, using: &$1) })
        XCTAssertTrue(t.scalars.allSatisfy { $0 > 0 && $0.isFinite })
    }

    // MARK: Discrete distributions

    func assertFrequency(_ count: Int, of n: Int, p: Double, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        TestSupport.assertFrequency(count, of: n, p: p, standardErrors: standardErrors, name, file: file, line: line)
    }

    func testBernoulli() {
        var rng = RandomStream(seed: 5)
        for p in [0.1, 0.5, 0.9] {
            let byProbability = Tensor<Double>.bernoulli(probabilities: Tensor(repeating: p, shape: [sampleCount]), using: &rng)
            let byLogit = Tensor<Double>.bernoulli(logits: Tensor(repeating: Foundation.log(p / (1 - p)), shape: [sampleCount]), using: &rng)
            let byLogitFloat = Tensor<Float>.bernoulli(logits: Tensor(repeating: Float(Foundation.log(p / (1 - p))), shape: [sampleCount]), using: &rng)
            for (t, name) in [(byProbability, "probabilities"), (byLogit, "logits"), (byLogitFloat.converted(to: Double.self), "logits Float")] {
                XCTAssertTrue(t.scalars.allSatisfy { $0 == 0 || $0 == 1 }, "\(name): draws are 0 or 1")
                assertFrequency(Int(t.sum().scalar), of: sampleCount, p: p, "bernoulli(\(name)) p=\(p)")
            }
        }
        // Degenerate probabilities and saturated logits are exact.
        let edge = Tensor<Double>.bernoulli(probabilities: Tensor(shape: [4], scalars: [0, 1, 0, 1]), using: &rng)
        XCTAssertEqual(edge.scalars, [0, 1, 0, 1])
        let saturated = Tensor<Double>.bernoulli(logits: Tensor(shape: [2], scalars: [-1000, 1000]), using: &rng)
        XCTAssertEqual(saturated.scalars, [0, 1])
        // Per-element probabilities (a [2, N/2] tensor with a different p in each row).
        let half = sampleCount / 2
        let rows = Tensor<Double>(shape: [2, 1], scalars: [0.2, 0.7]).expanded(to: [2, half])
        let draws = Tensor<Double>.bernoulli(probabilities: rows, using: &rng).sum(alongAxis: 1)
        assertFrequency(Int(draws[flat: 0]), of: half, p: 0.2, "row 0")
        assertFrequency(Int(draws[flat: 1]), of: half, p: 0.7, "row 1")
    }

    func testCategorical() {
        let p = [0.1, 0.2, 0.3, 0.4]
        var rng = RandomStream(seed: 6)
        let row = Tensor<Double>(shape: [1, 4], scalars: p.map { Foundation.log($0) })
        for (name, indices) in [("Double", Tensor.categoricalIndices(logits: row.expanded(to: [sampleCount, 4]), using: &rng)),
                                ("Float", Tensor.categoricalIndices(logits: row.converted(to: Float.self).expanded(to: [sampleCount, 4]),
                                                                   using: &rng).converted(to: Double.self))] {
            XCTAssertEqual(indices.shape, [sampleCount])
            var counts = [0, 0, 0, 0]
            for i in 0..<indices.count { counts[Int(indices[flat: i])] += 1 }
            XCTAssertEqual(counts.reduce(0, +), sampleCount)
            for k in 0..<4 { assertFrequency(counts[k], of: sampleCount, p: p[k], "\(name) class \(k)") }
        }
        // Logits are shift invariant and unnormalised logits work; a -inf logit is never drawn.
        let shifted = Tensor<Double>(shape: [1, 3], scalars: [1000, -Double.infinity, 1000]).expanded(to: [1000, 3])
        let draws = Tensor.categoricalIndices(logits: shifted, using: &rng)
        XCTAssertFalse(draws.scalars.contains(1))
        XCTAssertTrue(draws.scalars.contains(0) && draws.scalars.contains(2))
        // Leading shape is kept.
        XCTAssertEqual(Tensor.categoricalIndices(logits: Tensor<Double>(zeros: [2, 3, 5]), using: &rng).shape, [2, 3])
    }

    // MARK: Streams

    func testReproducibility() {
        var a = RandomStream(seed: 42), b = RandomStream(seed: 42), c = RandomStream(seed: 43)
        let sa = (0..<100).map { _ in a.next() }, sb = (0..<100).map { _ in b.next() }, sc = (0..<100).map { _ in c.next() }
        XCTAssertEqual(sa, sb)
        XCTAssertNotEqual(sa, sc)
        // Nearby seeds give unrelated streams (no shared values at all).
        XCTAssertTrue(Set(sa).isDisjoint(with: sc))
        var t1 = RandomStream(seed: 7), t2 = RandomStream(seed: 7)
        XCTAssertEqual(Tensor<Float>.gumbel([5, 3], using: &t1), Tensor<Float>.gumbel([5, 3], using: &t2))
        XCTAssertEqual(t1, t2)
        // The stream advances: two draws from one stream differ.
        XCTAssertNotEqual(Tensor<Double>.uniform([8], using: &t1), Tensor<Double>.uniform([8], using: &t1))
    }

    func testCodableRoundTripContinuesTheSequence() throws {
        var original = RandomStream(seed: 2024)
        _ = (0..<17).map { _ in original.next() }
        let data = try JSONEncoder().encode(original)
        var restored = try JSONDecoder().decode(RandomStream.self, from: data)
        XCTAssertEqual(restored, original)
        XCTAssertEqual((0..<100).map { _ in restored.next() }, (0..<100).map { _ in original.next() })
        XCTAssertEqual(Tensor<Double>.logistic([9], using: &restored), Tensor<Double>.logistic([9], using: &original))
    }

    /// A corrupt checkpoint must not decode into a degenerate stream (all-zero state is a fixed point).
    func testDecodingRejectsInvalidState() {
        for json in [#"{"state":[0,0,0,0]}"#, #"{"state":[1,2,3]}"#, #"{"state":[1,2,3,4,5]}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(RandomStream.self, from: Data(json.utf8)), json)
        }
        XCTAssertNoThrow(try JSONDecoder().decode(RandomStream.self, from: Data(#"{"state":[0,0,0,1]}"#.utf8)))
        XCTAssertEqual(RandomStream(seed: 0).state.count, 4)
        XCTAssertTrue(RandomStream(seed: 0).state.contains { $0 != 0 }, "seed 0 still gives a live state")
    }

    func testSplitGivesADifferentStream() {
        var parent = RandomStream(seed: 9)
        var child = parent.split()
        XCTAssertNotEqual(child, parent)
        let fromChild = (0..<50).map { _ in child.next() }, fromParent = (0..<50).map { _ in parent.next() }
        XCTAssertTrue(Set(fromChild).isDisjoint(with: fromParent))
        // Splitting advances the parent and is itself reproducible.
        var p1 = RandomStream(seed: 9), p2 = RandomStream(seed: 9)
        var c1 = p1.split(), c2 = p2.split()
        XCTAssertEqual(c1.next(), c2.next())
        var second = p1.split()
        XCTAssertNotEqual(second.next(), c2.next())
    }
}
