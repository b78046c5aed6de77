// Broadcasting rules (NumPy's) and the adjoint pair expanded(to:) / summed(toShape:).
import Autodiff
import XCTest

final class BroadcastTests: XCTestCase {
    func testBroadcastShape() {
        // Invalid pairs (e.g. [3] with [4]) trigger a precondition; that crash path is not tested here.
        let cases: [([Int], [Int], [Int])] = [
            ([3, 4], [3, 4], [3, 4]), ([3, 4], [4], [3, 4]), ([4], [3, 4], [3, 4]),
            ([3, 1], [1, 4], [3, 4]), ([3, 4], [3, 1], [3, 4]), ([2, 1, 4], [3, 1], [2, 3, 4]),
            ([], [2, 3], [2, 3]), ([2, 3], [], [2, 3]), ([], [], []), ([5], [1], [5]), ([1], [], [1]),
            ([1, 1, 1], [7], [1, 1, 7]), ([7], [1, 1, 1], [1, 1, 7]), ([2, 1, 3, 1], [1, 4, 1, 5], [2, 4, 3, 5]),
            ([0, 3], [1, 3], [0, 3]), ([0], [1], [0]), ([6, 1, 5], [1, 1], [6, 1, 5]),
        ]
        for (a, b, expected) in cases {
            XCTAssertEqual(broadcastShape(a, b), expected, "\(a) with \(b)")
            XCTAssertEqual(broadcastShape(b, a), expected, "symmetric: \(b) with \(a)")
        }
    }

    /// ⟨expand(x), y⟩ == ⟨x, summed(y)⟩: summed(toShape:) is the adjoint of expanded(to:).
    func testSummedIsAdjointOfExpanded() {
        let pairs: [([Int], [Int])] = [
            ([4], [3, 4]), ([3, 1], [3, 4]), ([1, 4], [3, 4]), ([3, 1], [2, 3, 4]), ([], [2, 3]),
            ([1], [5]), ([1, 1], [2, 3]), ([1, 3, 1], [2, 3, 5]), ([2, 1, 3], [2, 4, 3]), ([3, 4], [3, 4]),
            ([7], [2, 3, 7]), ([1, 1, 1], [2, 3, 4]),
        ]
        var rng = RandomStream(seed: 21)
        for (small, big) in pairs {
            let x = randomTensor(small, .uniform(-1, 1), &rng), y = randomTensor(big, .uniform(-1, 1), &rng)
            let expanded = x.expanded(to: big), summed = y.summed(toShape: small)
            XCTAssertEqual(expanded.shape, big)
            XCTAssertEqual(summed.shape, small)
            // The two sides add the same ≤ 42 products of values in [−1, 1] in different orders: Double
            // rounding ≤ 42·1.1e-16·42 ≈ 2e-13.
            XCTAssertEqual(dot(expanded, y), dot(x, summed), accuracy: 1e-12, "\(small) <-> \(big)")
            // And summed agrees with explicit sums over the stretched axes.
            let viaSum = (y * Tensor(ones: big)).summed(toShape: small)
            XCTAssertEqual(viaSum, summed)
        }
        // Hand case: [2,3] -> [3] and -> [2,1].
        let y = Tensor<Double>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(y.summed(toShape: [3]).scalars, [5, 7, 9])
        XCTAssertEqual(y.summed(toShape: [2, 1]).scalars, [6, 15])
        XCTAssertEqual(y.summed(toShape: [1, 1]).scalars, [21])
        XCTAssertEqual(y.summed(toShape: []).scalars, [21])
        XCTAssertEqual(y.summed(toShape: [2, 3]), y)
    }

    /// The gradient of a broadcasting op has the operand's shape (the backward sums stretched axes).
    func testBroadcastGradientShapes() {
        for (sa, sb) in OpCases.broadcastPairs {
            let a = Variable(Tensor<Double>(ones: sa), requiresGradient: true)
            let b = Variable(Tensor<Double>(ones: sb), requiresGradient: true)
            let g = gradients(of: (a * b).sum(), wrt: [a, b])
            XCTAssertEqual(g[0].shape, sa)
            XCTAssertEqual(g[1].shape, sb)
            // Each operand element is used once per output element it is broadcast to.
            let outCount = broadcastShape(sa, sb).reduce(1, *)
            XCTAssertEqual(g[0].value.sum().scalar, Double(outCount))
            XCTAssertEqual(g[1].value.sum().scalar, Double(outCount))
        }
    }
}
